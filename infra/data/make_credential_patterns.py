#!/usr/bin/env python3
"""Writes infra/data/credential-patterns.tsv: the prefix-anchored rules of gitleaks that berth uses to refuse
a credential pasted into a stage file, each with the words berth shows instead of the value.

Usage (from the repository root), with a clone of github.com/gitleaks/gitleaks:
    git -C gitleaks show b58d3f102cf3a2c84cb7f923d05c25c9b1aed84b:config/gitleaks.toml > /tmp/gitleaks.toml
    python3 infra/data/make_credential_patterns.py /tmp/gitleaks.toml b58d3f102cf3a2c84cb7f923d05c25c9b1aed84b

Only rules anchored on a literal prefix are taken (gitleaks' `generic-api-key`, `jwt` and the like match
ordinary configuration and are left out). To refresh: another commit, review the diff.
"""
import sys
import tomllib

path, commit = sys.argv[1], sys.argv[2]
# gitleaks rule id -> what berth calls it ("looks like ...").
SELECTED = [
    ("github-pat", "a GitHub personal access token"),
    ("github-fine-grained-pat", "a GitHub fine-grained personal access token"),
    ("github-oauth", "a GitHub OAuth access token"),
    ("github-app-token", "a GitHub App token"),
    ("github-refresh-token", "a GitHub refresh token"),
    ("gitlab-pat", "a GitLab personal access token"),
    ("gitlab-pat-routable", "a GitLab personal access token"),
    ("gitlab-ptt", "a GitLab pipeline trigger token"),
    ("gitlab-rrt", "a GitLab runner registration token"),
    ("gitlab-deploy-token", "a GitLab deploy token"),
    ("gitlab-runner-authentication-token", "a GitLab runner authentication token"),
    ("aws-access-token", "an AWS access key ID"),
    ("aws-amazon-bedrock-api-key-long-lived", "an Amazon Bedrock API key"),
    ("aws-amazon-bedrock-api-key-short-lived", "an Amazon Bedrock API key"),
    ("slack-bot-token", "a Slack bot token"),
    ("slack-user-token", "a Slack user token"),
    ("slack-app-token", "a Slack app token"),
    ("slack-config-access-token", "a Slack configuration token"),
    ("slack-config-refresh-token", "a Slack configuration refresh token"),
    ("slack-legacy-bot-token", "a Slack bot token"),
    ("slack-legacy-token", "a Slack token"),
    ("slack-legacy-workspace-token", "a Slack workspace token"),
    ("slack-webhook-url", "a Slack webhook URL"),
    ("private-key", "a private key"),
    ("npm-access-token", "an npm access token"),
    ("pypi-upload-token", "a PyPI upload token"),
    ("gcp-api-key", "a Google Cloud API key"),
    ("stripe-access-token", "a Stripe API key"),
    ("openai-api-key", "an OpenAI API key"),
    ("anthropic-api-key", "an Anthropic API key"),
    ("anthropic-admin-api-key", "an Anthropic admin API key"),
    ("age-secret-key", "an age secret key"),
    ("vault-service-token", "a HashiCorp Vault service token"),
    ("vault-batch-token", "a HashiCorp Vault batch token"),
    ("hashicorp-tf-api-token", "a Terraform Cloud API token"),
    ("digitalocean-pat", "a DigitalOcean personal access token"),
    ("digitalocean-access-token", "a DigitalOcean OAuth token"),
    ("sendgrid-api-token", "a SendGrid API key"),
    ("huggingface-access-token", "a Hugging Face access token"),
    ("databricks-api-token", "a Databricks API token"),
    ("pulumi-api-token", "a Pulumi access token"),
    ("shopify-access-token", "a Shopify access token"),
    ("doppler-api-token", "a Doppler API token"),
    ("linear-api-key", "a Linear API key"),
    ("postman-api-token", "a Postman API key"),
    ("sentry-user-token", "a Sentry user token"),
    ("grafana-cloud-api-token", "a Grafana Cloud API token"),
]
# Changes to a rule, each said in the `source` column.
DERIVED = {
    # The `s.` branch (legacy Vault tokens) matches any 26 characters after `s.`: too noisy for configuration.
    "vault-service-token": (r"|s\.(?i:[a-z0-9]{24})", "", ["hvs."], "without the legacy `s.` branch"),
}
rules = {r["id"]: r for r in tomllib.load(open(path, "rb"))["rules"]}
out = [
    "# Credential-shaped values berth refuses in a stage file, by kind; the value itself is never shown.",
    f"# Source: gitleaks config/gitleaks.toml at commit {commit} (github.com/gitleaks/gitleaks),",
    "#   MIT License, Copyright (c) 2019 Zachary Rice. Regexes verbatim unless the source column says otherwise.",
    "#   gitleaks' licence: Permission is hereby granted, free of charge, to any person obtaining a copy of this",
    "#   software and associated documentation files (the \"Software\"), to deal in the Software without restriction,",
    "#   including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or",
    "#   sell copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the",
    "#   following conditions: The above copyright notice and this permission notice shall be included in all copies",
    "#   or substantial portions of the Software. THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND,",
    "#   EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR",
    "#   PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,",
    "#   DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN",
    "#   CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.",
    "# Generated by infra/data/make_credential_patterns.py (see its docstring); the `kind` column is berth's.",
    "# Columns: id, kind, keywords (lowercase; a line must contain one before the regex runs, as in gitleaks),",
    "#   entropy (gitleaks' minimum Shannon entropy of the secret, 0 = none), regex, allow (the gitleaks",
    "#   allowlist regexes, joined with |), source.",
    "id\tkind\tkeywords\tentropy\tregex\tallow\tsource",
]
for rid, kind in SELECTED:
    r = rules[rid]
    regex, keywords, source = r["regex"], r.get("keywords", []), "gitleaks"
    if rid in DERIVED:
        old, new, keywords, why = DERIVED[rid]
        assert old in regex, (rid, regex)
        regex, source = regex.replace(old, new), f"gitleaks, {why}"
    allow = "|".join(f"(?:{x})" for a in r.get("allowlists", []) for x in a.get("regexes", []))
    for field in (regex, allow):
        assert "\t" not in field and "\n" not in field
    out.append("\t".join([rid, kind, ",".join(keywords), str(r.get("entropy", 0)), regex, allow, source]))
# A private key's first line alone (a stage value is one line; the full rule needs the whole block).
out.append("\t".join(["private-key-header", "a private key", "-----begin", "0",
                      r"(?i)-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----", "",
                      "derived from gitleaks private-key: its header only"]))
open(__file__.rsplit("/", 1)[0] + "/credential-patterns.tsv", "w").write("\n".join(out) + "\n")
print(f"{sum(1 for l in out if not l.startswith('#')) - 1} patterns")
