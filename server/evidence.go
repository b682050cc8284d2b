package server

import (
	"net/http"
	"regexp"

	"github.com/gin-gonic/gin"

	"github.com/affrelay/affrelay/evidence"
)

var unsafeFileName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// evidenceBundle answers the signed evidence bundle (a zip) of an event, for a dispute.
func (h *handlers) evidenceBundle(c *gin.Context) {
	integrationID, eventID := c.Param("integration"), c.Param("event_id")
	zip, err := h.o.Evidence.Bundle(c, integrationID, eventID)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	name := "evidence-" + unsafeFileName.ReplaceAllString(integrationID+"-"+eventID, "_") + ".zip"
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	c.Data(http.StatusOK, "application/zip", zip)
}

// evidencePublicKey answers the public key evidence bundles verify with, as PEM, for the operator to publish.
func (h *handlers) evidencePublicKey(c *gin.Context) {
	pub, err := h.o.Evidence.PublicKey()
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	pemText, err := evidence.PublicKeyPEM(pub)
	if err != nil {
		internalError(c, h.o.Logger, err)
		return
	}
	c.Header("X-Key-Fingerprint-Sha256", evidence.Fingerprint(pub))
	c.Data(http.StatusOK, "text/plain; charset=utf-8", pemText)
}
