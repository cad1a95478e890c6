import sys

from alphabench.cli import main

sys.exit(main())
