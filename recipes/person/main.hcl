# person: the seed workflow's first dataset, built from the bundled
# fixtures of every public format (tiny images, so it runs in seconds).
# Import → one class mapping per source → merge → keep persons (and the
# neutral ignore class) → crop every person with 10 % padding → drop crops
# too small to learn from → resize → split 80/20 → augment the training
# part. Every step is incremental per item.
#
#   dsbuild build recipes/person
#   dsbuild stats recipes/person transform.people

variable "size" {
  default     = 64
  description = "side of the square training crops"
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
  options = { count = "24", width = "96", height = "96", figures = "0-3", seed = "11" }
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
  instances_crop {
    classes      = ["person"]
    save_classes = ["neutral"]
    pad          = "10%"
  }
  skip_if {
    min_width  = 12
    min_height = 20
  }
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

transform "augmented" {
  from = [split.people.train]

  multiply {
    times = 2
  }
  flip {
    direction   = "left_right"
    probability = 0.5
  }
  rotate {
    min_degrees   = -10
    max_degrees   = 10
    black_regions = "preserve_size"
  }
  contrast_brightness {
    contrast_min   = 0.8
    contrast_max   = 1.2
    brightness_min = -20
    brightness_max = 20
  }
  edge_band {
    classes = ["person"]
    width   = 1
  }
}

export "train_masks" {
  from   = transform.augmented
  format = "masks"
}
