package relay

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// startOnce starts the workflow under its business-key id unless a run with that id exists or existed; it
// reports which. It returns once Temporal has durably accepted the start.
func (s *Service) startOnce(ctx context.Context, id string, attrs []temporal.SearchAttributeUpdate, workflow, input any) (duplicate bool, err error) {
	_, err = s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                s.TaskQueue,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		EnableEagerStart:                         s.EagerStart,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(attrs...),
	}, workflow, input)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("start %s: %w", id, err)
	}
	return false, nil
}
