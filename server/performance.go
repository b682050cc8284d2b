package server

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/affrelay/affrelay/performance"
)

// performanceReport answers GET /v1/admin/affiliates/:id/performance (one affiliate, groupings
// performance.AffiliateGroupBys) and GET /v1/admin/performance (every affiliate, performance.AllGroupBys)
// with ?from=&to=&group_by=, as JSON or, for Accept: text/csv or format=csv, as CSV. Every parameter is
// checked before anything is read.
func (h *handlers) performanceReport(groupBys []string) gin.HandlerFunc {
	return func(c *gin.Context) {
		from, to, ok := reportRange(c)
		if !ok {
			return
		}
		if max := h.o.ReportMaxRangeDays; to.Sub(from) > time.Duration(max)*24*time.Hour {
			abortField(c, "to", fmt.Sprintf("the range from %s to %s is longer than the maximum of %d days",
				from.Format(time.RFC3339), to.Format(time.RFC3339), max))
			return
		}
		groupBy := c.DefaultQuery("group_by", performance.GroupByDay)
		if msg, ok := performance.ValidGroupBy(groupBy, groupBys); !ok {
			abortField(c, "group_by", msg)
			return
		}
		asCSV, ok := csvWanted(c)
		if !ok {
			return
		}
		rep, err := h.o.Affiliates.Performance(c, c.Param("id"), groupBy, from, to)
		if err != nil {
			serviceError(c, h.o.Logger, err)
			return
		}
		if !asCSV {
			c.JSON(http.StatusOK, rep.Document(c.Param("id"), from, to))
			return
		}
		c.Header("Content-Type", "text/csv; charset=utf-8")
		c.Status(http.StatusOK)
		w := csv.NewWriter(c.Writer)
		_ = w.Write(rep.CSVHeader())
		for _, line := range rep.CSVRecords() {
			line[0] = csvSafe(line[0])
			_ = w.Write(line)
		}
		w.Flush()
	}
}

// csvWanted says whether a report is asked for as CSV: format=csv, or Accept: text/csv without format.
// On an unknown format it has answered 400.
func csvWanted(c *gin.Context) (asCSV, ok bool) {
	switch format := c.Query("format"); format {
	case "csv":
		return true, true
	case "json":
		return false, true
	case "":
		return strings.Contains(c.GetHeader("Accept"), "text/csv"), true
	default:
		abortField(c, "format", fmt.Sprintf("%q is not one of json, csv", format))
		return false, false
	}
}
