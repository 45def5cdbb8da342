"""The augmentation worker: loads a checkpoint once and runs augment jobs from a Redis queue.

Data flows one way: training -> checkpoint -> worker -> service. This package imports `training`,
never `service`; `contracts` and `checkpoint_info` import neither torch nor `training`.
"""
