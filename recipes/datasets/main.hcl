# datasets: import the bundled fixtures of several public formats into
# dsbuild's one dataset language (canonical Supervisely), with class
# mappings that bring every person class to "person", then export them.
#
#   dsbuild build recipes/datasets
#   dsbuild stats recipes/datasets import.voc
#   dsbuild checkout recipes/datasets export.people_coco out/

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

import "supervisely" {
  format  = "supervisely"
  path    = "../../testdata/fixtures/supervisely"
  classes = { person_poly = "person", person_bmp = "person", neutral = "neutral" }
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

import "synthetic" {
  format  = "synthetic"
  options = { count = "8", width = "96", height = "96", figures = "1-3", seed = "3" }
}

import "unlabeled" {
  format   = "images"
  path     = "../../testdata/fixtures/images"
  on_error = "skip" # the fixture holds a deliberately truncated JPEG
}

export "people_coco" {
  from    = import.supervisely
  format  = "coco"
  options = { masks = "polygons" }
}

export "vistas_masks" {
  from   = import.vistas
  format = "masks"
}

# Any tool can read a dataset: an exec step sees a Supervisely project.
exec "count" {
  inputs  = { voc = import.voc, synthetic = import.synthetic }
  command = ["sh", "-c", "mkdir -p out && for d in voc synthetic; do printf '%s %s\\n' $d $(ls inputs/$d/*/img | grep -vc :) ; done > out/images.txt"]
  outputs = ["out"]
}
