# A review's package and results directories are outputs: inside the
# recipe directory, never the directory itself, and clear of every
# directory another step reads or writes.

import "pool" {
  format = "images"
  path   = "data/images"
}

files "notes" {
  path = "notes"
}

review "dot" {
  from    = import.pool
  package = "." # ERROR: Invalid output path | recipe directory itself
}

review "dotdot" {
  from    = import.pool
  package = "review/../.." # ERROR: Invalid output path | leaves the recipe directory
}

review "sibling" {
  from    = import.pool
  package = "../x" # ERROR: Invalid output path | leaves the recipe directory
}

review "absolute" {
  from    = import.pool
  results = "/tmp/results" # ERROR: Invalid output path | must be relative
}

review "source" {
  from    = import.pool
  package = "data/images" # ERROR: Overlapping output path | import.pool
}

review "holds_source" {
  from    = import.pool
  package = "data" # ERROR: Overlapping output path | which import.pool reads # ERROR: Overlapping output path | which review.source writes
}

review "in_source" {
  from    = import.pool
  results = "notes/r" # ERROR: Overlapping output path | files.notes
}

review "nested" {
  from    = import.pool
  package = "out/nested" # ERROR: Overlapping output path | which review.nested writes (results)
  results = "out/nested/results"
}

review "twice_a" {
  from    = import.pool
  package = "shared" # ERROR: Overlapping output path | review.twice_b
}

review "twice_b" {
  from    = import.pool
  package = "shared"
}
