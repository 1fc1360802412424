# person: the seed workflow end to end on bundled data (tiny images, so it
# runs in minutes on two cores).
#
#  1. Import the fixtures of every public format, map each source's classes
#     to person / neutral, merge, keep the images with persons, resize them
#     to 64×64 (aspect kept), split 80/20.
#  2. Train a UNet on them (BCE + dice, neutral ignored, edge band, flips,
#     rotations and colour changes drawn per sample).
#  3. Bootstrap: each round takes the next batch of unlabeled images from
#     the pool, pre-annotates them with the last model (one pass over the
#     whole image, every connected component a person: mode "scene"), has
#     them reviewed (simulated here from the pool's ground truth: a reviewer
#     would use the package the review step writes), resizes the accepted
#     images like the seed data, merges them in and trains again from the
#     last model.
#
# The pool is another domain than the seed data (synthetic domain "b":
# other backgrounds, lighting, scales and figure styles), as the seed's
# target photos differed from the public datasets: the first round's
# predictions are poor, and the reviewed in-domain images make them better.
# With ablation = true the bootstrap also runs the same rounds without
# merging the reviewed images back (bootstrap person_nomerge): the
# difference between the two review tables is what the loop itself buys.
#
#   dsbuild build recipes/person
#   dsbuild review status recipes/person
#   dsbuild show recipes/person train.person_round4

variable "size" {
  default     = 64
  description = "side of the square training images"
}

variable "synthetic" {
  default     = "120"
  description = "synthetic images among the seed data"
}

variable "rounds" {
  default     = 4
  description = "bootstrap rounds"
}

variable "batch" {
  default     = 48
  description = "pool images reviewed per round"
}

variable "epochs" {
  default     = 30
  description = "training epochs per round (round 0 included)"
}

variable "final_epochs" {
  default     = 0
  description = "epochs of the last two trainings (the model that pre-annotates the last round, and the final model); 0: epochs, like every round. The profile of docs/loop-profile.md sets 120"
}

variable "width" {
  default     = 16
  description = "channels of the UNet's first level (8 trains about 3× faster and learns the pool less well: docs/loop.md)"
}

variable "schedule" {
  default     = "constant"
  description = "the learning-rate schedule of every training: constant, or cosine (annealed to 0 over each round's steps)"
}

variable "flip" {
  default     = false
  description = "pre-annotate with test-time flip: each image also segmented mirrored, the two logit maps averaged (about twice the inference)"
}

variable "seed" {
  default     = "person"
  description = "seeds the initial weights, the batches and the augmentation (bench/loop.sh runs several)"
}

variable "gemm" {
  default     = "openblas:Haswell, gonum"
  description = "the trainer's matrix products: OpenBLAS's AVX2 kernel gives this lockfile's models on any x86 CPU with AVX2 and Debian 12's OpenBLAS; without them, gonum's pure Go (slower, other models)"
}

variable "ablation" {
  default     = true
  description = "also run the rounds without merging (bootstrap person_nomerge), to show what the loop buys; false halves the training"
}

variable "device" {
  default     = "cpu"
  description = "where pre-annotation runs: cpu, cuda or auto (the device is part of the key)"
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
  options = { count = var.synthetic, width = "96", height = "96", figures = "0-3", seed = "11" }
}

# The unlabeled pool the loop draws from, in another domain than the seed
# data. Its figures' true masks play the reviewer; the model never sees
# them.
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
  # Also the same rounds without merging the reviewed images back
  # (bootstrap person_nomerge: each round trains on the seed data again),
  # to show what the loop itself buys; its round 0 is train.person_round0's
  # twin (the same key, built once).
  ablation = var.ablation

  train {
    foreground    = ["person"]
    ignore        = ["neutral"]
    input_size    = var.size
    depth         = 3
    width         = var.width
    batch_norm    = true
    batch         = 8
    learning_rate = 0.001
    flip          = true
    rotate        = 10
    color         = 0.1
    edge_band     = 1
    edge_weight   = 1
    seed          = var.seed
    gemm          = var.gemm

    # Unset when constant: the models keep the keys they had before the
    # schedule existed.
    lr_schedule = var.schedule == "constant" ? null : var.schedule

    # Element R is round R's epochs, the last standing for later rounds:
    # var.epochs, then var.final_epochs for the last two trainings. Each
    # round's step gets a plain number, so the default keeps the keys of
    # epochs = var.epochs.
    epochs = concat([for r in range(max(var.rounds - 1, 0)) : var.epochs], [var.final_epochs > 0 ? var.final_epochs : var.epochs])
  }

  preannotate {
    threshold = 0.5
    min_area  = 40
    mode      = "scene"
    device    = var.device
    # Unset when false: the predictions keep the keys they had before
    # flip existed.
    flip = var.flip ? true : null
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
