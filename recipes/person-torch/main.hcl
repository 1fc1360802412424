# person-torch: the person loop of recipes/person with your own model: a
# PyTorch UNet that torch/train.py trains and torch/predict.py applies,
# run by the train and preannotate steps' command mode instead of
# dsbuild's built-in trainer and annotator. Small enough for CI (about a
# minute on two cores).
#
#  1. Import the fixtures of every public format and synthetic images, map
#     their classes to person / neutral, merge, keep the images with
#     persons, resize them to 64×64 (aspect kept), split 80/20.
#  2. train.py trains a UNet on them (CPU, one thread): BCE + (1 − dice),
#     neutral pixels ignored, Adam, left-right flips; it gets the training
#     set as dsbuild's "masks" export at inputs/data/ (one 8-bit label PNG
#     per image and classes.json: person 1, neutral 255), the validation
#     set at inputs/validation/, and writes model/ (config.json with format
#     "torch-unet/1", weights.safetensors, metrics.json: docs/model.md's
#     contract), printing a dsbuild:progress line per epoch.
#  3. Bootstrap: each round takes the next batch of pool images (another
#     domain), predict.py pre-annotates them with the last model
#     (inputs/images.json and inputs/images/ in, predictions/results.json
#     out: COCO results, one RLE per connected component), a simulated
#     reviewer judges them against the pool's true masks, the accepted
#     images are resized like the seed data and merged in, and train.py
#     continues from the last model (inputs/from/) on the grown set.
#
# The scripts need Debian's python3-torch, python3-numpy and python3-pil
# (apt-get install python3-torch python3-pil). Their float arithmetic is
# pinned (torch/unet.py: one thread, ATen's and OpenBLAS's AVX2 kernels,
# oneDNN off), so a rebuild gives the same models, bit for bit, here and,
# we expect, on any x86 CPU with AVX2 and FMA and the same Debian packages
# (dsbuild verify says whether they do).
#
#   dsbuild build recipes/person-torch
#   dsbuild review status recipes/person-torch
#   dsbuild show recipes/person-torch train.person_round2

variable "size" {
  default     = 64
  description = "side of the square training images (train.py's --size)"
}

variable "rounds" {
  default     = 2
  description = "bootstrap rounds"
}

variable "batch" {
  default     = 32
  description = "pool images reviewed per round"
}

variable "epochs" {
  default     = 25
  description = "training epochs per round (round 0 included)"
}

variable "width" {
  default     = 8
  description = "channels of the UNet's first level"
}

variable "seed" {
  default     = 1
  description = "train.py's --seed: initial weights, batch order, flips"
}

# The interpreter is named by its path: the command's PATH is fixed
# (/usr/local/bin:/usr/bin:/bin) and a python3 in /usr/local/bin (a
# python.org build, a python Docker image) would come first and could not
# import Debian's torch. -B: the code directory is read-only anyway.
variable "python" {
  default     = "/usr/bin/python3"
  description = "the interpreter that has torch, numpy and PIL"
}

# The scripts (torch/train.py, torch/predict.py and the unet.py they
# share): a tree artifact at inputs/code/, so that editing one reruns the
# steps that use it.
files "torch" {
  path    = "torch"
  include = ["*.py"]
}

import "voc" {
  format  = "pascal_voc"
  path    = "../../testdata/fixtures/pascal_voc"
  classes = { person = "person", neutral = "neutral" }
}

import "coco" {
  format  = "coco"
  path    = "../../testdata/fixtures/coco"
  classes = { person = "person" }
}

import "vistas" {
  format  = "mapillary_vistas"
  path    = "../../testdata/fixtures/mapillary_vistas/v2.0"
  classes = { "human--person--individual" = "person", "human--person--person-group" = "neutral" }
}

import "cityscapes" {
  format  = "cityscapes"
  path    = "../../testdata/fixtures/cityscapes"
  classes = { person = "person" }
}

import "supervisely" {
  format  = "supervisely"
  path    = "../../testdata/fixtures/supervisely"
  classes = { person_poly = "person", person_bmp = "person", neutral = "neutral" }
}

import "synthetic" {
  format  = "synthetic"
  options = { count = "48", width = "96", height = "96", figures = "0-3", seed = "11" }
}

# The unlabeled pool, in another domain than the seed data; its true
# masks play the reviewer, the model never sees them.
import "pool" {
  format  = "synthetic"
  options = { count = "${var.rounds * var.batch}", width = "96", height = "96", figures = "1-2", seed = "12", dataset = "pool", domain = "b" }
}

merge "all" {
  from = [import.voc, import.coco, import.vistas, import.cityscapes, import.supervisely, import.synthetic]
}

transform "people" {
  from = [merge.all]

  keep_classes {
    classes = ["person", "neutral"]
  }
  skip_if {
    no_objects = true
  }
  poly2bitmap {}
  resize {
    width       = var.size
    height      = var.size
    keep_aspect = true
  }
}

split "people" {
  from  = transform.people
  parts = { train = 0.8, val = 0.2 }
}

bootstrap "person" {
  rounds     = var.rounds
  seed_data  = split.people.train
  validation = split.people.val
  pool       = import.pool
  batch      = var.batch

  train {
    command = [
      var.python, "-B", "inputs/code/train.py",
      "--size", "${var.size}", "--epochs", "${var.epochs}", "--width", "${var.width}",
      "--depth", "3", "--batch", "8", "--lr", "0.003", "--seed", "${var.seed}",
    ]
    inputs      = { code = files.torch }
    data_format = "masks"
  }

  preannotate {
    command            = [var.python, "-B", "inputs/code/predict.py", "--threshold", "0.5", "--min-area", "40"]
    inputs             = { code = files.torch }
    predictions_format = "coco"
    classes            = ["person"]
  }

  review {
    simulate {
      truth  = import.pool
      good   = 0.75
      bad    = 0.4
      format = "cvat"
    }
  }

  # Accepted images are resized like the seed data.
  prepare {
    resize {
      width       = var.size
      height      = var.size
      keep_aspect = true
    }
  }
}
