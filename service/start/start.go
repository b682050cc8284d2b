// Package start starts a workflow by its business key exactly once, for the application services.
package start

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// Starter starts workflows on a task queue.
type Starter struct {
	Temporal  client.Client
	TaskQueue string
	// Eager hands a new workflow's first task straight to the worker in this process, saving a round trip.
	Eager bool
}

// Once starts the workflow with ID conflict policy FAIL and reuse policy REJECT_DUPLICATE; duplicate says
// Temporal had already seen the ID (running or closed). It returns once Temporal durably accepted the start.
func (s Starter) Once(ctx context.Context, id string, attrs []temporal.SearchAttributeUpdate, workflow, input any) (duplicate bool, err error) {
	return s.start(ctx, enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, id, attrs, workflow, input)
}

// Again starts a new run of the workflow id after its earlier runs closed (reuse policy ALLOW_DUPLICATE, ID
// conflict policy FAIL); running says a run is open still, and nothing was started.
func (s Starter) Again(ctx context.Context, id string, attrs []temporal.SearchAttributeUpdate, workflow, input any) (running bool, err error) {
	return s.start(ctx, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, id, attrs, workflow, input)
}

// start starts the workflow unless the reuse policy or a running execution forbids it: then seen is true.
func (s Starter) start(ctx context.Context, reuse enumspb.WorkflowIdReusePolicy, id string, attrs []temporal.SearchAttributeUpdate, workflow, input any) (seen bool, err error) {
	_, err = s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                s.TaskQueue,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:                    reuse,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		EnableEagerStart:                         s.Eager,
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
