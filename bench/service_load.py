"""Latency and throughput of the kit's web service on the CPU, and its behaviour under a mix of good and bad uploads.

Exports the ELPV classifier (EfficientNet-Lite0, its head untrained: speed does not depend on the weights) with `export_safe`,
starts `serve` in its own process on a free loopback port (as `fastai-tl serve` would), and sends one validation cell with
`load_test` from 1 and from 8 concurrent clients, several times. Then it sends rounds of a mix of good and bad uploads (empty,
text, truncated, a decompression bomb, 48 million pixels, a GIF, over the size limit, a wrong field, a part without a file name,
broken multipart) from 8 clients, and records every status code and the server's resident memory (RSS) after each round.
Prints each run, then the mean and standard deviation over the repeats, and the rounds.
Usage: python bench/service_load.py [--requests 200] [--repeats 3] [--rounds 6] [--runtime torch|onnx] [--size 224]"""
import argparse, io, os, subprocess, sys, tempfile, time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import httpx, pandas as pd
from PIL import Image
from fastai_tl.data import image_dls
from fastai_tl.tasks import elpv_split
from fastai_tl.learner import cnn_learner
from fastai_tl.export import export_onnx
from fastai_tl.serve import free_port, load_test
from common import machine, write_results

def service_model(size:int, folder, runtime:str) -> tuple:
    "The ELPV classifier at `size` px exported to `folder` (with model.onnx for `runtime` onnx), and the validation cells"
    df = elpv_split()
    path = cnn_learner(image_dls(df, size=size, bs=32), pos_class='defective').export_safe(Path(folder)/'elpv')
    if runtime == 'onnx': export_onnx(path)
    return path, list(df[df.split == 'valid'].path)

def start_service(path, runtime:str):
    "A `serve` process for export folder `path` and its URL, once /health answers"
    port = free_port()
    proc = subprocess.Popen([sys.executable, '-c', f"from fastai_tl.serve import serve; serve({str(path)!r}, '127.0.0.1', {port}, runtime={runtime!r})"])
    url, end = f'http://127.0.0.1:{port}', time.time() + 120
    while time.time() < end and proc.poll() is None:
        try:
            if httpx.get(f'{url}/health').status_code == 200: return proc, url
        except httpx.TransportError: time.sleep(0.2)
    proc.kill()
    sys.exit('The service did not start')

def rss_mb(pid:int) -> float:
    "Resident memory of process `pid` in MB (Linux)"
    return int(next(l for l in Path(f'/proc/{pid}/status').read_text().splitlines() if l.startswith('VmRSS')).split()[1]) / 1024

def _png(img) -> bytes:
    b = io.BytesIO(); img.save(b, 'PNG'); return b.getvalue()

def upload_mix(good:bytes) -> dict:
    "Name: keyword arguments of `httpx.post` for one good upload and ten kinds of bad ones"
    gif = io.BytesIO(); Image.new('RGB', (8, 8)).save(gif, 'GIF')
    return {'good': dict(files={'files': ('cell.png', good)}), 'empty': dict(files={'files': ('zero.png', b'')}),
            'text': dict(files={'files': ('notes.png', b'just some text')}), 'truncated': dict(files={'files': ('cut.png', good[:300])}),
            'bomb': dict(files={'files': ('bomb.png', _png(Image.new('P', (20000, 20000))))}),
            '48 MP': dict(files={'files': ('big.png', _png(Image.new('L', (8000, 6000))))}), 'GIF': dict(files={'files': ('a.gif', gif.getvalue())}),
            'over 10 MB': dict(files={'files': ('large.png', good + bytes(11 * 2**20))}), 'wrong field': dict(files={'image': ('a.png', good)}),
            'no file name': dict(files={'files': ('', good)}),
            'broken multipart': dict(content=b'garbage', headers={'content-type': 'multipart/form-data; boundary=xyz'})}

def mixed_round(url:str, mix:dict, n:int, clients:int=8) -> Counter:
    "Counts of (kind, status code) of `n` POST /predict requests cycling through `mix` (every other one good), from `clients` concurrent clients"
    bad = list(mix)[1:]
    kinds = ['good' if i % 2 == 0 else bad[(i // 2) % len(bad)] for i in range(n)]
    def client(ks):
        with httpx.Client(timeout=120) as c: return [(k, c.post(f'{url}/predict', **mix[k]).status_code) for k in ks]
    with ThreadPoolExecutor(clients) as ex: return Counter(s for part in ex.map(client, [kinds[i::clients] for i in range(clients)]) for s in part)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--requests', type=int, default=200, help='requests per run and per round')
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--rounds', type=int, default=6, help='rounds of the mix of good and bad uploads; the first is the warm-up')
    p.add_argument('--runtime', choices=('torch', 'onnx'), default='torch')
    p.add_argument('--size', type=int, default=224)
    args = p.parse_args()
    path, valid = service_model(args.size, tempfile.mkdtemp(), args.runtime)
    proc, url = start_service(path, args.runtime)
    image, rows, rounds = Path(valid[0]).read_bytes(), [], []
    try:
        for r in range(args.repeats):
            for clients in (1, 8):
                rows.append(load_test(url, image, n=args.requests, clients=clients))
                print(f"run {r + 1}, {clients} client(s): p50 {rows[-1]['p50_ms']:.1f} ms, p99 {rows[-1]['p99_ms']:.1f} ms, "
                      f"{rows[-1]['requests_per_s']:.1f} requests/s", flush=True)
        mix = upload_mix(image)
        for r in range(args.rounds):
            statuses = mixed_round(url, mix, args.requests)
            rounds.append(dict(statuses={f'{k} {s}': v for (k, s), v in sorted(statuses.items())}, rss_mb=rss_mb(proc.pid),
                               server_errors=sum(v for (k, s), v in statuses.items() if s >= 500)))
            print(f"mixed round {r + 1}: {rounds[-1]['statuses']}, server RSS {rounds[-1]['rss_mb']:.0f} MB", flush=True)
    finally: proc.terminate()
    df = pd.DataFrame(rows).drop(columns='requests').groupby('clients').agg(['mean', 'std'])
    where = f"{machine()}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'not set')}, load average {os.getloadavg()[0]:.1f}"   # bench/report.py reads the load
    print(f"\n{where}; runtime {args.runtime}, one {len(image)/1e3:.0f} KB ELPV cell at {args.size} px, {args.requests} requests per run, {args.repeats} runs")
    print(df.round(1).to_string())
    one, eight = df.loc[1], df.loc[8]
    server_errors = sum(r['server_errors'] for r in rounds)
    after = [r['rss_mb'] for r in rounds[1:]]   # after the warm-up round
    print(f"mix of {len(upload_mix(image))} kinds of upload, {args.rounds} rounds of {args.requests}: {server_errors} x 5xx; "
          f"server RSS after the warm-up {after[0]:.0f} MB, after the last round {after[-1]:.0f} MB" if after else '')
    write_results('service_load', dict(p50_ms=one[('p50_ms', 'mean')], p99_ms=one[('p99_ms', 'mean')], rps=eight[('requests_per_s', 'mean')],
                                       rps_sd=eight[('requests_per_s', 'std')], clients=8, runtime=args.runtime, machine=where,
                                       mixed=dict(kinds=list(upload_mix(image)), requests_per_round=args.requests, rounds=rounds, server_errors=server_errors)))

if __name__ == '__main__': main()
