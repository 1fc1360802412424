# The step kinds' integer attributes refuse a fraction at load (Config.Int
# truncated it before): on the attribute, or on the list element.

variable "epochs" {
  default = 2.5
}

import "pool" {
  format  = "synthetic"
  workers = 1.5 # ERROR: Invalid workers | workers is 1.5; it must be a whole number.
}

take "some" {
  from  = import.pool
  count = 10 / 4 # ERROR: Invalid count | count is 2.5; it must be a whole number.
  skip  = 2.0
}

train "m" {
  data   = take.some
  epochs = var.epochs # ERROR: Invalid epochs | epochs is 2.5
  depth  = 1.25 # ERROR: Invalid depth
  width  = 4
}

preannotate "p" {
  model                = train.m
  images               = take.some
  detection_categories = [1, 1.5] # ERROR: Invalid detection_categories | detection_categories[1] is 1.5
}
