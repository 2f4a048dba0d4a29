"What every benchmark shares: the machine it ran on, in words, and its results file in bench/results/"
import json, platform
from pathlib import Path

RESULTS = Path(__file__).parent/'results'

def machine() -> str:
    "The processor and the device fastai trains on, with torch's version"
    from fastai_tl.core import kit_info
    info = kit_info()
    cpuinfo = Path('/proc/cpuinfo')
    names = [l.split(':', 1)[1].strip() for l in cpuinfo.read_text().splitlines() if l.startswith('model name')] if cpuinfo.exists() else []
    return f"{names[0] if names else platform.processor() or platform.machine()}, {info['device']}, torch {info['torch']}"

def write_results(name:str, data:dict) -> Path:
    "Write `data` with the machine (unless `data` describes it) to bench/results/`name`.json; its path"
    out = RESULTS/f'{name}.json'
    out.write_text(json.dumps({'machine': machine(), **data}, indent=1) + '\n')
    return out
