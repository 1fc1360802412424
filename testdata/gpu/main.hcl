# The GPU check's end-to-end part (bench/gpu-run.sh): a small model, then
# the same images pre-annotated on the CPU and on the GPU, which dsbuild
# diff then compares. Training takes seconds.
import "seed" {
  format  = "synthetic"
  options = { count = "48", width = "64", height = "64", figures = "1-2", seed = "21" }
}
import "pool" {
  format  = "synthetic"
  options = { count = "64", width = "160", height = "120", figures = "1-3", seed = "22", dataset = "pool" }
}
train "m" {
  data          = import.seed
  input_size    = 64
  depth         = 3
  width         = 8
  batch_norm    = true
  epochs        = 6
  learning_rate = 0.001
}
preannotate "cpu" {
  model  = train.m
  images = import.pool
  device = "cpu"
}
preannotate "gpu" {
  model  = train.m
  images = import.pool
  device = "cuda"
}
preannotate "auto" {
  model  = train.m
  images = import.pool
  device = "auto"
}
