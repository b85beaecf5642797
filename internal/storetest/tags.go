package storetest

import (
	"testing"

	"github.com/incidentd/incidentd/internal/domain"
)

func tagCases() []testCase {
	return []testCase{
		{"MissingResource", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			// The resources exist in another account only.
			rs, p, r := newReplicationSet(acctB), newPlan(acctB, "p"), newIncident(acctB, "x", at(0))
			must(t, s.CreateReplicationSet(ctx, rs, map[string]string{"k": "v"}), "CreateReplicationSet")
			must(t, s.CreateResponsePlan(ctx, p, map[string]string{"k": "v"}), "CreateResponsePlan")
			must(t, s.CreateIncidentRecord(ctx, r, map[string]string{"k": "v"}, nil), "CreateIncidentRecord")
			for _, ref := range []domain.ResourceRef{rsRef(rs), planRef(p), incidentRef(r)} {
				ref.Account = acctA
				_, err := s.Tags(ctx, ref)
				wantErr(t, err, domain.ErrNotFound, "Tags of a missing %s", ref.Type)
				called := false
				err = s.UpdateTags(ctx, ref, func(map[string]string) error { called = true; return nil })
				wantErr(t, err, domain.ErrNotFound, "UpdateTags of a missing %s", ref.Type)
				if called {
					t.Fatalf("UpdateTags of a missing %s called fn", ref.Type)
				}
			}
			// Nothing was created for them.
			for _, ref := range []domain.ResourceRef{rsRef(rs), planRef(p), incidentRef(r)} {
				tags, err := s.Tags(ctx, ref)
				must(t, err, "Tags of %s", ref.Type)
				check(t, tags, map[string]string{"k": "v"}, "tags of %s", ref.Type)
			}
		}},
		{"Update", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			rs, p, r := newReplicationSet(acctA), newPlan(acctA, "p"), newIncident(acctA, "x", at(0))
			must(t, s.CreateReplicationSet(ctx, rs, map[string]string{"keep": "1", "drop": "2", "change": "3"}), "CreateReplicationSet")
			must(t, s.CreateResponsePlan(ctx, p, map[string]string{"keep": "1", "drop": "2", "change": "3"}), "CreateResponsePlan")
			must(t, s.CreateIncidentRecord(ctx, r, map[string]string{"keep": "1", "drop": "2", "change": "3"}, nil), "CreateIncidentRecord")
			// Another plan whose tags must stay as they are.
			other := newPlan(acctA, "other")
			must(t, s.CreateResponsePlan(ctx, other, map[string]string{"drop": "2"}), "CreateResponsePlan other")
			for _, ref := range []domain.ResourceRef{rsRef(rs), planRef(p), incidentRef(r)} {
				var g given
				must(t, s.UpdateTags(ctx, ref, func(tags map[string]string) error {
					g.see(tags, map[string]string{"keep": "1", "drop": "2", "change": "3"})
					delete(tags, "drop")
					tags["change"] = "changed"
					tags["new"] = "4"
					return nil
				}), "UpdateTags of %s", ref.Type)
				g.check(t, map[string]string{"keep": "1", "drop": "2", "change": "3"}, "tags UpdateTags gives fn")
				want := map[string]string{"keep": "1", "change": "changed", "new": "4"}
				tags, err := s.Tags(ctx, ref)
				must(t, err, "Tags of %s", ref.Type)
				check(t, tags, want, "tags of %s after UpdateTags", ref.Type)

				err = s.UpdateTags(ctx, ref, func(tags map[string]string) error {
					delete(tags, "keep")
					tags["new"] = "other"
					tags["more"] = "x"
					return errBoom
				})
				wantErr(t, err, errBoom, "UpdateTags whose fn fails")
				tags, err = s.Tags(ctx, ref)
				must(t, err, "Tags of %s", ref.Type)
				check(t, tags, want, "tags of %s after a failed UpdateTags", ref.Type)

				// fn may remove every tag.
				must(t, s.UpdateTags(ctx, ref, func(tags map[string]string) error {
					clear(tags)
					return nil
				}), "UpdateTags removing every tag")
				tags, err = s.Tags(ctx, ref)
				must(t, err, "Tags of %s", ref.Type)
				check(t, tags, map[string]string{}, "tags of %s after every tag was removed", ref.Type)
			}
			tags, err := s.Tags(ctx, planRef(other))
			must(t, err, "Tags of another plan")
			check(t, tags, map[string]string{"drop": "2"}, "tags of another plan")
		}},
	}
}
