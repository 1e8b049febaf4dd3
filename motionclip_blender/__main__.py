"""`python -m motionclip_blender` runs the command line."""

import sys

from .cli import main

sys.exit(main())
