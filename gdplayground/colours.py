"""Colours that the window and the pictures drawn without it (the animation) share."""

LAYER_COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
                 (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
CLASS_COLOURS = [(245, 147, 34), (8, 119, 189)]  # two classes: 0 orange, 1 blue, in every view
