import sys

from tryon_dev.cli import main

sys.exit(main())
