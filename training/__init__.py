"""Produces MotionCLIP weights: data preparation, training and evaluation."""
