import os

# Lessons shrink subsets and epochs in quick mode; the committed notebooks keep a full run's outputs.
os.environ['FASTAI_TL_QUICK'] = '1'
