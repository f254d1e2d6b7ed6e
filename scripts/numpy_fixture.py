"""Writes test/data/fixtures/numpy_random.json: numpy legacy RNG outputs that
src/data/numpyRandom.ts must reproduce bit for bit (MeZO samples with np.random.permutation).
Run: /usr/bin/python3 scripts/numpy_fixture.py"""
import json
import os
import numpy as np

out = {"numpy_version": np.__version__, "raw": [], "permutations": []}
for seed in [0, 5489, 2**32 - 1]:
    rs = np.random.RandomState(seed)
    out["raw"].append({"seed": seed, "values": [int(v) for v in rs._bit_generator.random_raw(700)]})
# sizes of the task splits (train pools and validation splits) plus edge cases
for seed in [0, 1, 42]:
    for n in [1, 2, 3, 10, 56, 100, 104, 250, 277, 400, 554, 638, 872, 3270, 4848, 27243, 67349]:
        np.random.seed(seed)
        perm = np.random.permutation(n).tolist()
        out["permutations"].append({"seed": seed, "n": n, "head": perm[:200], "sum_i_times_p": sum(i * p for i, p in enumerate(perm)) % (2**31)})
path = os.path.join(os.path.dirname(__file__), "..", "test", "data", "fixtures", "numpy_random.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
print("wrote", os.path.normpath(path))
