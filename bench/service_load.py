"""Latency and throughput of the kit's web service on the CPU: p50 and p99 of one-image requests, and requests/s at 1 and 8 clients.

Exports the ELPV classifier as `bench/predict_speed.py` does, starts `serve` in its own process on a free loopback port (as
`fastai-tl serve` would), and sends one validation cell with `load_test` from 1 and from 8 concurrent clients, several times.
Prints each run, then the mean and standard deviation over the repeats.
Usage: python bench/service_load.py [--requests 200] [--repeats 3] [--runtime torch|onnx] [--size 224]"""
import argparse, json, os, platform, subprocess, sys, tempfile, time
from pathlib import Path
import httpx, pandas as pd
from predict_speed import elpv_model
from fastai_tl.serve import free_port, load_test

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

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--requests', type=int, default=200, help='requests per run')
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--runtime', choices=('torch', 'onnx'), default='torch')
    p.add_argument('--size', type=int, default=224)
    args = p.parse_args()
    _, path, valid = elpv_model(args.size, tempfile.mkdtemp())
    proc, url = start_service(path, args.runtime)
    image, rows = Path(valid[0]).read_bytes(), []
    try:
        for r in range(args.repeats):
            for clients in (1, 8):
                rows.append(load_test(url, image, n=args.requests, clients=clients))
                print(f"run {r + 1}, {clients} client(s): p50 {rows[-1]['p50_ms']:.1f} ms, p99 {rows[-1]['p99_ms']:.1f} ms, "
                      f"{rows[-1]['requests_per_s']:.1f} requests/s", flush=True)
    finally: proc.terminate()
    df = pd.DataFrame(rows).drop(columns='requests').groupby('clients').agg(['mean', 'std'])
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} cores, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'not set')}, load average {os.getloadavg()[0]:.1f}; "
          f"runtime {args.runtime}, one {len(image)/1e3:.0f} KB ELPV cell at {args.size} px, {args.requests} requests per run, {args.repeats} runs")
    print(df.round(1).to_string())
    one, eight = df.loc[1], df.loc[8]
    out = Path(__file__).parent/'results'/'service_load.json'
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(dict(p50_ms=one[('p50_ms', 'mean')], p99_ms=one[('p99_ms', 'mean')], rps=eight[('requests_per_s', 'mean')],
                                   rps_sd=eight[('requests_per_s', 'std')], clients=8, runtime=args.runtime), indent=1) + '\n')

if __name__ == '__main__': main()
