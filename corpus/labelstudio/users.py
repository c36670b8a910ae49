"""Accounts on the embedded Label Studio server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from corpus.errors import LabelStudioError, ServerUnavailable
from corpus.labelstudio.install import default_venv_dir, venv_python
from corpus.labelstudio.server import ServerPaths, child_env, load_or_create_credentials
from corpus.workspace import Workspace

_ADD_USER_SCRIPT = r"""
import json, os, sys
sys.argv = ["label-studio"]
from label_studio.server import _setup_env
_setup_env()
from organizations.models import Organization
from rest_framework.authtoken.models import Token
from users.models import User
email = os.environ["CORPUS_NEW_USER_EMAIL"]
user = User.objects.filter(email=email).first()
if user is None:
    password = os.environ.get("CORPUS_NEW_USER_PASSWORD") or None
    user = User.objects.create_user(email=email, password=password)
org = Organization.objects.order_by("id").first()
org.add_user(user)
user.active_organization = org
user.save(update_fields=["active_organization"])
token = Token.objects.filter(user=user).first() or Token.objects.create(user=user)
print(json.dumps({"id": user.id, "email": user.email, "token": token.key}))
"""


def add_local_user(workspace: Workspace, email: str, password: str | None = None,
                   *, venv_dir: Path | None = None) -> tuple[int, str]:
    """Create (or find) a user of the embedded server's organisation; return (id, legacy token).

    Label Studio's REST API lets an admin create users but not read their
    tokens, so this runs a short Django script against the workspace's database
    in the Label Studio venv (the server may keep running; sqlite serialises).
    """
    paths = ServerPaths.of(workspace)
    if not paths.data.exists():
        raise ServerUnavailable(f"no embedded Label Studio data in {paths.root}",
                                hint="start it with `corpus server start`")
    venv = (venv_dir or default_venv_dir()).expanduser().absolute()
    creds = load_or_create_credentials(paths, workspace)
    env = child_env(paths, creds)
    for key in ("LABEL_STUDIO_USERNAME", "LABEL_STUDIO_PASSWORD", "LABEL_STUDIO_USER_TOKEN"):
        env.pop(key, None)
    env["CORPUS_NEW_USER_EMAIL"] = email
    if password:
        env["CORPUS_NEW_USER_PASSWORD"] = password
    proc = subprocess.run(
        [str(venv_python(venv)), "-c", _ADD_USER_SCRIPT], capture_output=True, text=True,
        env=env, cwd=paths.root, timeout=300, check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        err = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        raise LabelStudioError(f"creating Label Studio user {email} failed: "
                               f"{err[-1] if err else 'no output'}",
                               hint="check that the workspace's Label Studio started once")
    out = json.loads(lines[-1])
    return int(out["id"]), str(out["token"])
