"""cProfile of one round of one_char's fast-path training (3 seeds), after a warm-up round: the
functions with the most time of their own. Run by the environment's Python, KERAS_BACKEND set:
KERAS_BACKEND=torch ENV/bin/python docs/bisect/torchtree/profile_one_char.py OUT.prof"""

import cProfile
import pstats
import sys

from alphabench import trainer
from alphabench.framings import get_framing

rounds = trainer.throughput_rounds(get_framing("one_char"), [0, 1, 2])
print("warm-up round:", next(rounds), "steps/s")
profile = cProfile.Profile()
profile.enable()
print("profiled round:", next(rounds), "steps/s")
profile.disable()
profile.dump_stats(sys.argv[1])
pstats.Stats(profile).sort_stats("tottime").print_stats(25)
