package oidctest

import (
	"strings"
)

// GitHubClaims is the claim set of a GitHub Actions ID token for a push
// workflow in repo ("org/name") at ref ("refs/heads/main" or
// "refs/tags/v1"), run runID, as GitHub documents it. aud and the
// registered claims are left to Mint or the runner. For a job with an
// environment, set "environment" and make sub
// "repo:org/name:environment:NAME", as GitHub does.
func GitHubClaims(repo, ref, runID string) map[string]any {
	owner, _, _ := strings.Cut(repo, "/")
	refType := "branch"
	if strings.HasPrefix(ref, "refs/tags/") {
		refType = "tag"
	}
	return map[string]any{
		"sub":                   "repo:" + repo + ":ref:" + ref,
		"ref":                   ref,
		"ref_type":              refType,
		"ref_protected":         "true",
		"sha":                   "e5b2f4c3a1d0987654321fedcba0123456789abc",
		"repository":            repo,
		"repository_id":         "123456789",
		"repository_owner":      owner,
		"repository_owner_id":   "987654",
		"repository_visibility": "private",
		"run_id":                runID,
		"run_number":            "42",
		"run_attempt":           "1",
		"actor":                 "octocat",
		"actor_id":              "583231",
		"workflow":              "deploy",
		"workflow_ref":          repo + "/.github/workflows/deploy.yml@" + ref,
		"workflow_sha":          "e5b2f4c3a1d0987654321fedcba0123456789abc",
		"job_workflow_ref":      repo + "/.github/workflows/deploy.yml@" + ref,
		"job_workflow_sha":      "e5b2f4c3a1d0987654321fedcba0123456789abc",
		"event_name":            "push",
		"head_ref":              "",
		"base_ref":              "",
		"runner_environment":    "github-hosted",
	}
}

// GitLabClaims is the claim set of a GitLab CI id_token for project
// projectPath ("group/project") at ref (a branch name like "main", as
// GitLab's ref claim gives it), pipeline pipelineID. aud and the
// registered claims are left to Mint.
func GitLabClaims(projectPath, ref, pipelineID string) map[string]any {
	namespace := projectPath
	if i := strings.LastIndex(projectPath, "/"); i >= 0 {
		namespace = projectPath[:i]
	}
	refPath := ref
	if !strings.HasPrefix(ref, "refs/") {
		refPath = "refs/heads/" + ref
	}
	return map[string]any{
		"sub":                "project_path:" + projectPath + ":ref_type:branch:ref:" + ref,
		"namespace_id":       "4242",
		"namespace_path":     namespace,
		"project_id":         "2323",
		"project_path":       projectPath,
		"project_visibility": "private",
		"user_id":            "1717",
		"user_login":         "deployer",
		"user_email":         "deployer@example.com",
		"user_access_level":  "maintainer",
		"pipeline_id":        pipelineID,
		"pipeline_source":    "push",
		"job_id":             "9999",
		"ref":                ref,
		"ref_type":           "branch",
		"ref_path":           refPath,
		"ref_protected":      "true",
		"runner_id":          "1",
		"runner_environment": "gitlab-hosted",
		"sha":                "714a629c0b401fdce83e847fc9589983fc6f46bc",
		"ci_config_ref_uri":  "gitlab.example.com/" + projectPath + "//.gitlab-ci.yml@" + refPath,
		"ci_config_sha":      "714a629c0b401fdce83e847fc9589983fc6f46bc",
	}
}
