package voc

import (
	"bytes"
	"fmt"
	"image/color"
	"strconv"
	"strings"
)

// LabelmapFile is the class list that CVAT and Datumaro write beside a
// VOC tree (Datumaro's VocPath.LABELMAP_FILE), at its root.
const LabelmapFile = "labelmap.txt"

// labelmapIgnored is the name Datumaro gives the void label (index 255,
// colour 224,224,192) in the label maps it writes for VOC.
const labelmapIgnored = "ignored"

// labelmap is a parsed labelmap.txt: the classes of indices 1, 2, ... and
// the colour of every index it gives one, for masks stored as RGB.
type labelmap struct {
	classes []string
	colors  map[[3]uint8]uint8 // colour → index (0 background, 255 void)
}

// parseLabelmap reads labelmap.txt as Datumaro's parse_label_map does:
// blank lines and lines starting with # are skipped; every other line is
// name:color:parts:actions (four fields; color "r,g,b" or empty; parts and
// actions are not used). A label's index is its position among the labels:
// the first must be background (index 0), and the label "ignored" is the
// void index 255 wherever it stands. Colours, where given, map an RGB
// mask's pixels to indices; without them the VOC colormap does.
func parseLabelmap(data []byte) (*labelmap, error) {
	lm := &labelmap{colors: map[[3]uint8]uint8{}}
	seen := map[string]bool{}
	index := 0
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Split(line, ":")
		if len(fields) != 4 {
			return nil, fmt.Errorf("%s: line %d: %d ':'-separated fields; a label is name:r,g,b:parts:actions", LabelmapFile, n+1, len(fields))
		}
		name := strings.TrimSpace(fields[0])
		if seen[name] {
			return nil, fmt.Errorf("%s: line %d: label %q is defined twice", LabelmapFile, n+1, name)
		}
		seen[name] = true
		idx := index
		switch {
		case name == labelmapIgnored:
			idx = Void
		case index == 0 && name != "background":
			return nil, fmt.Errorf("%s: line %d: the first label is %q; VOC's index 0 is background", LabelmapFile, n+1, name)
		case index > 0:
			lm.classes = append(lm.classes, name)
		}
		if name != labelmapIgnored {
			index++
		}
		if c := strings.TrimSpace(fields[1]); c != "" {
			rgb, err := parseRGB(c)
			if err != nil {
				return nil, fmt.Errorf("%s: line %d: label %q: %v", LabelmapFile, n+1, name, err)
			}
			if prev, dup := lm.colors[rgb]; dup && int(prev) != idx {
				return nil, fmt.Errorf("%s: line %d: label %q has the colour %s of another label", LabelmapFile, n+1, name, c)
			}
			lm.colors[rgb] = uint8(idx)
		}
	}
	if index == 0 {
		return nil, fmt.Errorf("%s: no labels", LabelmapFile)
	}
	if err := checkClassList(lm.classes); err != nil {
		return nil, fmt.Errorf("%s: %w", LabelmapFile, err)
	}
	if len(lm.colors) == 0 {
		lm.colors = nil // the VOC colormap
	}
	return lm, nil
}

func parseRGB(s string) ([3]uint8, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return [3]uint8{}, fmt.Errorf("colour %q is not r,g,b", s)
	}
	var rgb [3]uint8
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v < 0 || v > 255 {
			return [3]uint8{}, fmt.Errorf("colour %q is not r,g,b of 0-255", s)
		}
		rgb[i] = uint8(v)
	}
	return rgb, nil
}

// writeLabelmap writes labelmap.txt for the classes of indices 1, 2, ...
// the way Datumaro writes its VOC label map (and CVAT, through it): the
// header line, background, one line per class with the colour of its index
// in the PNGs (the VOC colormap), and the void label "ignored" with the
// colour of 255, so that tools that read the masks by colour get the same
// indices.
func writeLabelmap(classes []string, pal color.Palette) []byte {
	var b bytes.Buffer
	b.WriteString("# label:color_rgb:parts:actions\n")
	line := func(name string, i int) {
		c := pal[i].(color.RGBA)
		fmt.Fprintf(&b, "%s:%d,%d,%d::\n", name, c.R, c.G, c.B)
	}
	line("background", 0)
	for i, c := range classes {
		line(c, i+1)
	}
	line(labelmapIgnored, Void)
	return b.Bytes()
}
