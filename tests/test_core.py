"fastai_tl.core: the quick-mode switch and kit_info (moved from lesson 00's hidden cells)"
import torch
from fastcore.xtras import modified_env
from fastai_tl.core import is_quick, quick, kit_info

def test_is_quick_values():
    for value, fast in [('1', True), ('yes', True), ('True', True), (' ON ', True), ('0', False), ('false', False), ('no', False),
                        ('', False), ('off', False), ('OFF', False), (' 0', False), ('n', False), ('2', False)]:
        with modified_env(FASTAI_TL_QUICK=value): assert is_quick() == fast, value
    with modified_env('FASTAI_TL_QUICK'): assert quick(5, 1) == 5   # unset: full
    with modified_env(FASTAI_TL_QUICK='1'): assert quick(5, 1) == 1

def test_kit_info():
    info = kit_info()
    assert info['ELPV solar cells (dataset)'] != 'not installed'
    assert info['torch'].startswith('2.')
    assert info['device'].startswith('CPU') or torch.cuda.is_available() or torch.backends.mps.is_available()
    for value, fast in [('1', True), ('off', False)]:
        with modified_env(FASTAI_TL_QUICK=value): assert kit_info()['quick mode'] == fast
