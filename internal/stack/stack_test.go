package stack

import (
	"fmt"
	"net"
	"testing"
)

// TestFreePortIsBelowTheEphemeralRange checks that FreePort's ports can be listened on and, where the kernel
// says where its range for outgoing connections starts, lie below it.
func TestFreePortIsBelowTheEphemeralRange(t *testing.T) {
	below := ephemeralPortsStart()
	for range 20 {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if below > lowestFreePort && (port < lowestFreePort || port >= below) {
			t.Fatalf("port %d is not in [%d, %d)", port, lowestFreePort, below)
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatalf("port %d: %v", port, err)
		}
		ln.Close()
	}
}
