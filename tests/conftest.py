import os
os.environ.setdefault("MUJOCO_GL", "egl")
# One OpenMP thread per process: the notebook tests run two kernels at once on 2 cores, and torch's spinning OpenMP
# threads slow a contended process down by up to 100x (measured on the VLA notebook: 7 s alone, 115 s contended).
os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_configure(config):
    config.addinivalue_line("markers", "tf: needs TensorFlow; runs TensorFlow work in a subprocess")
    config.addinivalue_line("markers", "slow: long-running integration test")
