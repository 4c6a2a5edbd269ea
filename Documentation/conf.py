# SPDX-License-Identifier: GPL-2.0
# Sphinx configuration for `make htmldocs`.  The kernel-doc directive comes
# from Debian's linux-source-6.1 tarball (Documentation/sphinx/kerneldoc.py
# and scripts/kernel-doc, extracted into the cache by scripts/harness.sh);
# nothing of it is kept in this repository.
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_ksrc = os.environ.get('VIRTBE_KERNEL_SRC')
if not _ksrc:
    _ksrc = os.path.join(os.environ.get('VIRTBE_CACHE', '/var/cache/virtbe'),
                         'src', 'linux-source-6.1')
sys.path.insert(0, os.path.join(_ksrc, 'Documentation', 'sphinx'))

project = 'virtbe'
copyright = '2026, The virtbe authors'
extensions = ['kerneldoc']
kerneldoc_bin = os.path.join(_ksrc, 'scripts', 'kernel-doc')
kerneldoc_srctree = os.path.dirname(_here)
master_doc = 'index'
exclude_patterns = ['_build']
highlight_language = 'none'
html_theme = 'alabaster'
# C declarations with the same name (struct virtbe_info in several
# kernel-doc blocks of one header) are the same object, not a clash.
suppress_warnings = []
# make man: the tools' pages (section 8)
man_pages = [
    ('man/vbe-blk', 'vbe-blk',
     "serve a guest's virtio-blk device from a file, via virtbe",
     ['The virtbe authors'], 8),
    ('man/virtbe-vhost-user', 'virtbe-vhost-user',
     "serve a guest's virtio devices with unmodified vhost-user daemons",
     ['The virtbe authors'], 8),
]
