import os

# Lessons shrink subsets and epochs in quick mode; the committed notebooks keep a full run's outputs.
os.environ['FASTAI_TL_QUICK'] = '1'
# PyTorch's OpenMP threads spin while they wait for a core; on a shared 2-core machine that made torch 5-40 times slower.
# Set before torch is imported here, and inherited by the lessons' processes.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
