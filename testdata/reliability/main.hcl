# The recipe of the reliability suite (cmd/dsbuild/reliability_test.go):
# an import of a fixture, a transform and a tiny training, so that a build
# exercises sources, the stat cache, item memos, datasets and a model in a
# few seconds. The suite copies testdata/fixtures/supervisely to data/.

import "people" {
  format  = "supervisely"
  path    = "data"
  classes = { person_poly = "person", person_bmp = "person" }
}

transform "small" {
  from = [import.people]
  resize {
    width  = 32
    height = 32
  }
  flip {
    direction = "left_right"
  }
}

train "tiny" {
  data       = transform.small
  input_size = 32
  depth      = 1
  width      = 4
  epochs     = 3
  batch      = 4
}
