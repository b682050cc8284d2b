package evidence

import (
	"bytes"
	"html/template"
	"sort"
	"time"
)

// SummaryPath is the bundle's page for people: the event and its timeline.
const SummaryPath = "summary.html"

// Summary is what summary.html shows.
type Summary struct {
	IntegrationID, EventID string
	CreatedAt              time.Time
	// Facts are the conversion's fields, in the order shown.
	Facts    []Fact
	Timeline []Moment
	Missing  []Missing
	// Files are the bundle's files, for the reader to find the detail.
	Files []string
}

// Fact is one named value.
type Fact struct{ Name, Value string }

// Moment is one thing that happened, at At.
type Moment struct {
	At     time.Time
	What   string
	Detail string
}

var summaryPage = template.Must(template.New("summary").Funcs(template.FuncMap{
	"ts": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000 MST") },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Evidence: event {{.EventID}} of integration {{.IntegrationID}}</title>
<style>
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.detail { font-family: monospace; white-space: pre-wrap; word-break: break-all; }
.missing { color: #a00; }
</style>
</head>
<body>
<h1>Evidence: event {{.EventID}} of integration {{.IntegrationID}}</h1>
<p>Bundle made {{ts .CreatedAt}}. Every file of the bundle is listed with its SHA-256 in manifest.json, which
manifest.sig signs; this page is one of those files.</p>
<h2>Conversion</h2>
<table>
{{range .Facts}}<tr><th>{{.Name}}</th><td>{{.Value}}</td></tr>
{{end}}</table>
<h2>Timeline</h2>
<table>
<tr><th>Time (UTC)</th><th>What</th><th>Detail</th></tr>
{{range .Timeline}}<tr><td>{{ts .At}}</td><td>{{.What}}</td><td class="detail">{{.Detail}}</td></tr>
{{end}}</table>
<h2>Missing</h2>
{{if .Missing}}<table>
<tr><th>Item</th><th>Why</th></tr>
{{range .Missing}}<tr class="missing"><td>{{.Item}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>
{{else}}<p>Nothing: the bundle holds everything it describes.</p>
{{end}}<h2>Files</h2>
<ul>
{{range .Files}}<li>{{.}}</li>
{{end}}</ul>
</body>
</html>
`))

// RenderSummary writes summary.html: the timeline in time order (moments at the same time in the order
// given), every value escaped.
func RenderSummary(s Summary) ([]byte, error) {
	s.Timeline = append([]Moment{}, s.Timeline...)
	sort.SliceStable(s.Timeline, func(i, j int) bool { return s.Timeline[i].At.Before(s.Timeline[j].At) })
	var buf bytes.Buffer
	if err := summaryPage.Execute(&buf, s); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
