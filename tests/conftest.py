import os
os.environ.setdefault("MUJOCO_GL", "egl")


def pytest_configure(config):
    config.addinivalue_line("markers", "tf: needs TensorFlow; runs TensorFlow work in a subprocess")
    config.addinivalue_line("markers", "slow: long-running integration test")
