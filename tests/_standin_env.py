"""A stand-in for RoboCasa in the tests: importing this module registers a robosuite environment, exactly as importing
`robocasa` registers RoboCasa's (robosuite's metaclass registers every `ManipulationEnv` subclass when it is defined).

Like RoboCasa's kitchens it names its agent views `robot0_agentview_left`/`robot0_agentview_right` and gives its
instruction through `get_ep_meta()["lang"]`. It is our press-button task underneath, so the scripted expert can record
demonstrations in it.
"""
from xvr.vla.envs import XvrPressButton


class StandInCoffeePressButton(XvrPressButton):
    "RoboCasa-style stand-in: the coffee button task with RoboCasa's camera names and its own language."
    CAMERA_NAMES = ("robot0_agentview_left", "robot0_agentview_right")
    lang = "press the stand-in coffee button"
