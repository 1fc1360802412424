package report

import (
	"html/template"
	"strconv"
)

var funcs = template.FuncMap{
	// signed writes n with its sign; a number needs no escaping.
	"signed": func(n int) template.HTML {
		if n > 0 {
			return template.HTML("+" + strconv.Itoa(n))
		}
		return template.HTML(strconv.Itoa(n))
	},
	// css marks a colour normColor checked ("#RRGGBB") as safe in a style.
	"css": func(c string) template.CSS { return template.CSS(c) },
}

const style = `<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em;color:#222;background:#fff}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.5em}
table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.95em}
.sw{display:inline-block;width:.9em;height:.9em;border:1px solid #888;vertical-align:middle;margin-right:.3em}
.pos{color:#0a7d2c}.neg{color:#c62828}
.page{display:none}
.page:first-of-type{display:block}
.pages:has(.page:target) .page:not(:target){display:none}
.page:target{display:block}
nav.pager a{margin:0 .25em}
.item{border-top:1px solid #ddd;padding:.8em 0;display:flex;gap:1em;flex-wrap:wrap;align-items:flex-start}
.item h3{margin:0 0 .3em;font-size:1em}
.thumbs{display:flex;gap:.6em}
figure{margin:0;text-align:center}
figcaption{font-size:.85em;color:#555}
.none{display:flex;align-items:center;justify-content:center;background:#f3f3f3;color:#999;border:1px dashed #bbb}
.badge{font-size:.8em;padding:.05em .4em;border-radius:.3em;color:#fff}
.changed{background:#b07a00}.added{background:#0a7d2c}.removed{background:#c62828}
ul.changes{margin:.2em 0;padding-left:1.2em;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}
.legend span{margin-right:1em}
svg text{font:12px system-ui,sans-serif}
</style>`

var diffTmpl = template.Must(template.New("diff").Funcs(funcs).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
` + style + `
</head>
<body>
<h1>{{.Title}}</h1>
<h2 id="summary">Summary</h2>
<table class="summary">
<tr><th></th><th>A</th><th>B</th></tr>
<tr><th>dataset</th><td><code>{{.NameA}}</code></td><td><code>{{.NameB}}</code></td></tr>
<tr><th>tree</th><td class="mono">{{.TreeA}}</td><td class="mono">{{.TreeB}}</td></tr>
<tr><th>items</th><td class="n" id="items-a">{{.ItemsA}}</td><td class="n" id="items-b">{{.ItemsB}}</td></tr>
</table>
{{if .Empty}}<p id="no-differences">No differences.</p>{{else}}
<table class="counts">
<tr><th>added</th><td class="n" id="added">{{.Added}}</td></tr>
<tr><th>removed</th><td class="n" id="removed">{{.Removed}}</td></tr>
<tr><th>changed</th><td class="n" id="changed">{{.Change}}</td></tr>
</table>{{end}}
{{if or .OnlyInA .OnlyInB}}<p>The class sets differ.</p>
<table class="class-sets">
<tr><th>classes only in A</th><td>{{range $i, $c := .OnlyInA}}{{if $i}}, {{end}}<code>{{$c}}</code>{{else}}none{{end}}</td></tr>
<tr><th>classes only in B</th><td>{{range $i, $c := .OnlyInB}}{{if $i}}, {{end}}<code>{{$c}}</code>{{else}}none{{end}}</td></tr>
</table>{{end}}
{{if .Deltas}}<h2 id="class-deltas">Objects per class (B − A)</h2>
<table class="deltas">
<tr><th>class</th><th>Δ objects</th></tr>
{{range .Deltas}}<tr><td><span class="sw" style="background:{{css .Color}}"></span>{{.Class}}</td><td class="n {{if gt .Delta 0}}pos{{else}}neg{{end}}">{{signed .Delta}}</td></tr>
{{end}}</table>{{end}}
{{if .Pages}}<h2 id="items">Items</h2>
<p class="legend">Objects are filled in their class colour; outlines: <span style="color:#FFC400">■ modified</span><span style="color:#00C853">■ added</span><span style="color:#FF1744">■ removed</span>. Thumbnails at most {{.Thumb}} px, {{.PerPage}} items a page.</p>
{{$nums := .PageNums}}{{$multi := gt (len .PageNums) 1}}
<div class="pages">
{{range .Pages}}<section class="page" id="page-{{.N}}">
{{if $multi}}<nav class="pager">page {{range $nums}}<a href="#page-{{.}}">{{.}}</a>{{end}}</nav>
<h3>Page {{.N}} of {{len $nums}}</h3>{{end}}
{{range .Items}}<div class="item" id="item-{{.Index}}">
<div class="thumbs">{{range .Thumbs}}<figure>{{if .None}}<div class="none" style="width:96px;height:96px">—</div><figcaption>{{.Label}}: absent</figcaption>{{else}}<img {{.Src}} alt="{{.Label}}"><figcaption>{{.Label}} ({{.W}}×{{.H}}){{if .Note}}<br>{{.Note}}{{end}}</figcaption>{{end}}</figure>{{end}}</div>
<div><h3><span class="badge {{.Kind}}">{{.Kind}}</span> <code>{{.Name}}</code></h3>
<div>{{.What}}</div>
{{if .Changes}}<ul class="changes">{{range .Changes}}<li>{{.}}</li>{{end}}</ul>{{end}}</div>
</div>
{{end}}</section>
{{end}}</div>{{end}}
</body>
</html>
`))

var statsTmpl = template.Must(template.New("stats").Funcs(funcs).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
` + style + `
</head>
<body>
<h1>{{.Title}}</h1>
<table class="summary">
{{if .Tree}}<tr><th>tree</th><td class="mono">{{.Tree}}</td></tr>{{end}}
<tr><th>items</th><td class="n" id="items">{{.Items}}</td></tr>
<tr><th>objects</th><td class="n" id="objects">{{.Objects}}</td></tr>
</table>
{{range .Sections}}<h2 id="{{.ID}}">{{.Title}}</h2>
{{if .Chart}}{{with .Chart}}<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{{.Label}}" width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}">
{{range .Bars}}<text x="{{.LabelX}}" y="{{.TextY}}" text-anchor="end">{{.Label}}</text><rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" fill="{{.Color}}"></rect><text x="{{.CountX}}" y="{{.TextY}}">{{.Count}}</text>
{{else}}<text x="4" y="16">none</text>
{{end}}</svg>{{end}}{{end}}
{{if .Rows}}<table>
<tr><th>{{.Key}}</th><th>count</th></tr>
{{range .Rows}}<tr><td>{{if .Color}}<span class="sw" style="background:{{css .Color}}"></span>{{end}}{{.Label}}</td><td class="n">{{.Count}}</td></tr>
{{end}}</table>{{else}}<p>None.</p>{{end}}
{{end}}
</body>
</html>
`))
