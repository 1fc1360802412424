# hello: the smallest dsbuild recipe. A directory of text files becomes a
# tree artifact; one exec step upper-cases it, another counts its bytes.
# Build it twice: the second build runs nothing.

variable "greeting" {
  default     = "hello from dsbuild"
  description = "written into the report"
}

files "src" {
  path    = "data"
  include = ["**/*.txt"]
  exclude = ["tmp/**"]
}

exec "upper" {
  inputs  = { text = files.src }
  command = ["sh", "-c", "mkdir -p out && for f in $(cd inputs/text && find . -name '*.txt' | sort); do mkdir -p out/$(dirname $f) && tr a-z A-Z < inputs/text/$f > out/$f; done"]
  outputs = ["out"]
}

exec "count" {
  inputs  = { upper = exec.upper.out }
  command = ["sh", "-c", "mkdir -p out && (echo '${var.greeting}' && cd inputs/upper && find . -type f | sort | xargs wc -c) > out/report.txt"]
  outputs = ["out"]
}
