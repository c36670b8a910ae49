"""Annotator accounts: create, list and deactivate them on the embedded or any Label Studio.

- On the embedded server an account is created directly in its database (Label
  Studio's REST API can create users but neither set their password nor read their
  token) with a generated password, kept in ``workspace/labelstudio/annotators.json``
  (mode 0600) and shown once by the CLI.
- On a remote server (``$LABEL_STUDIO_URL``) accounts sign up themselves: adding one
  returns the organisation's sign-up link from ``/api/invite``.
- Removing an annotator ends their organisation membership (Label Studio's soft
  delete): they can no longer reach the organisation's projects, Label Studio no
  longer lists them, and every annotation they made stays, with their e-mail, in
  Label Studio and in pulls.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.errors import ConfigError, LabelStudioError, ServerUnavailable
from corpus.labelstudio.install import default_venv_dir, venv_python
from corpus.labelstudio.server import ServerPaths, child_env, load_or_create_credentials
from corpus.storage.atomic import write_json
from corpus.workspace import Workspace

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_ADD_USER_SCRIPT = r"""
import json, os, sys
sys.argv = ["label-studio"]
from label_studio.server import _setup_env
_setup_env()
from organizations.models import Organization
from rest_framework.authtoken.models import Token
from users.models import User
email = os.environ["CORPUS_NEW_USER_EMAIL"]
from organizations.models import OrganizationMember
password = os.environ.get("CORPUS_NEW_USER_PASSWORD") or None
user = User.objects.filter(email__iexact=email).first()
created = user is None
if created:
    user = User.objects.create_user(email=email, password=password)
elif password:
    user.set_password(password)
    user.save(update_fields=["password"])
org = Organization.objects.order_by("id").first()
org.add_user(user)
OrganizationMember.objects.filter(user=user, organization=org).update(deleted_at=None)
user.active_organization = org
user.is_active = True
user.save(update_fields=["active_organization", "is_active"])
token = Token.objects.filter(user=user).first() or Token.objects.create(user=user)
print(json.dumps({"id": user.id, "email": user.email, "token": token.key, "created": created}))
"""


def add_local_user(workspace: Workspace, email: str, password: str | None = None,
                   *, venv_dir: Path | None = None) -> tuple[int, str]:
    """Create (or find and re-activate) a user of the embedded server; return (id, token)."""
    out = _run_add_script(workspace, email, password, venv_dir=venv_dir)
    return int(out["id"]), str(out["token"])


def _run_add_script(workspace: Workspace, email: str, password: str | None,
                    *, venv_dir: Path | None = None) -> dict[str, Any]:
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
    out: dict[str, Any] = json.loads(lines[-1])
    return out


# --------------------------------------------------------------------------- annotators


@dataclass(frozen=True)
class Account:
    """One account of the organisation, as Label Studio lists it."""

    id: int
    email: str
    active: bool
    is_you: bool = False
    last_activity: str | None = None


@dataclass(frozen=True)
class NewAnnotator:
    """An annotator just added: a password (embedded server) or a sign-up link (remote)."""

    email: str
    created: bool
    password: str | None = field(default=None, repr=False)
    signup_url: str | None = None
    login_url: str | None = None


def roster_path(workspace: Workspace) -> Path:
    """``sync/users.json``: the e-mail of every Label Studio user id seen, per server URL.

    Label Studio shows a removed member as "Deleted User" in every annotation it
    serves; pulls name them from this roster instead, so nobody's work goes anonymous.
    """
    return workspace.sync_dir / "users.json"


def roster_key(url: str) -> str:
    """The roster's key for a server: ``local`` for any loopback URL (the embedded server's
    port changes on every start), else the URL."""
    from urllib.parse import urlsplit

    from corpus.labelstudio.connection import is_loopback

    host = urlsplit(url).hostname or ""
    return "local" if is_loopback(host) else url


def remember_users(workspace: Workspace, url: str, emails: Mapping[int, str]) -> dict[int, str]:
    """Merge ``emails`` (user id -> e-mail) into the roster of ``url``; return all known."""
    path = roster_path(workspace)
    url = roster_key(url)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        doc = {}
    doc = doc if isinstance(doc, dict) else {}
    known = doc.get(url)
    known = known if isinstance(known, dict) else {}
    merged = {int(k): str(v) for k, v in known.items() if str(k).isdigit()}
    before = dict(merged)
    merged.update({int(k): v for k, v in emails.items() if v})
    if merged != before:
        doc[url] = {str(k): v for k, v in sorted(merged.items())}
        workspace.sync_dir.mkdir(parents=True, exist_ok=True)
        write_json(path, doc)
    return merged


def check_email(email: str) -> str:
    """``email`` stripped, or ConfigError if it is not an e-mail address."""
    value = email.strip().lower()  # Label Studio finds accounts by e-mail; one spelling
    if not _EMAIL.match(value) or len(value) > 254:
        raise ConfigError(f"{email!r} is not an e-mail address",
                          hint="give annotators as name@example.org")
    return value


def passwords_path(workspace: Workspace) -> Path:
    """Where the generated passwords of embedded-server annotators are kept (mode 0600)."""
    return ServerPaths.of(workspace).root / "annotators.json"


def _read_passwords(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is unreadable ({type(exc).__name__})",
                          hint="move it away; passwords of annotators added later go to a new "
                          "file") from None
    return value if isinstance(value, dict) else {}


def _organisation(client: Any, me: dict[str, Any] | None = None) -> int:
    me = me if me is not None else client.whoami()
    org = me.get("active_organization")
    if not isinstance(org, int):
        raise LabelStudioError(f"the API token's user on {client.url} has no organisation",
                               hint="use the token of an organisation owner")
    return org


def is_removed(user: Mapping[str, Any]) -> bool:
    """Whether Label Studio serialised ``user`` as a removed member ("Deleted User")."""
    return user.get("email") == "Deleted" and user.get("last_name") == "User"


def read_roster(workspace: Workspace, url: str) -> dict[int, str]:
    """The roster of ``url`` (user id -> e-mail), empty if none was kept."""
    return remember_users(workspace, url, {})


def list_accounts(client: Any, workspace: Workspace | None = None) -> list[Account]:
    """The accounts of the token owner's organisation, removed ones with ``active=False``.

    Label Studio hides a removed member's e-mail; it comes from the workspace's
    roster when given (else ``user:<id>``).
    """
    me = client.whoami()
    roster = read_roster(workspace, client.url) if workspace is not None else {}
    out = []
    for user in client.list_users():
        uid = int(user["id"])
        removed = is_removed(user)
        email = (roster.get(uid) or f"user:{uid}") if removed else str(user.get("email") or "")
        out.append(Account(id=uid, email=email, active=not removed, is_you=uid == me.get("id"),
                           last_activity=user.get("last_activity")))
    return sorted(out, key=lambda a: (not a.active, a.email))


def add_annotators(workspace: Workspace, client: Any, emails: list[str], *, embedded: bool,
                   venv_dir: Path | None = None) -> list[NewAnnotator]:
    """Give each of ``emails`` an account that can annotate the organisation's projects.

    ``embedded``: create the account in the workspace's Label Studio with a new
    generated password (an account that exists gets a new password and is
    re-activated). Otherwise return the organisation's sign-up link for each.
    """
    wanted = list(dict.fromkeys(check_email(e) for e in emails))
    if not wanted:
        raise ConfigError("no e-mail address given", hint="corpus annotators add a@example.org")
    if not embedded:
        url = client.invite_url()
        everyone = list_accounts(client, workspace)
        known = {a.email: a for a in everyone}
        for email in wanted:
            if email in known and not known[email].active:
                raise LabelStudioError(
                    f"{email} was removed from the organisation on {client.url}",
                    hint="an owner re-adds them in Label Studio's Organization page")
        return [NewAnnotator(email=e, created=e not in known, signup_url=url,
                             login_url=f"{client.url}/user/login/") for e in wanted]
    from corpus.labelstudio.server import status

    base = status(workspace).public_url or client.url  # what annotators open
    path = passwords_path(workspace)
    out = []
    for email in wanted:
        password = secrets.token_urlsafe(12)
        got = _run_add_script(workspace, email, password, venv_dir=venv_dir)
        kept = _read_passwords(path)
        kept[email] = {"password": password, "user_id": int(got["id"])}
        write_json(path, kept, mode=0o600)
        out.append(NewAnnotator(email=email, created=bool(got.get("created")),
                                password=password, login_url=f"{base}/user/login/"))
    return out


def remove_annotator(workspace: Workspace, client: Any, email: str) -> Account:
    """End ``email``'s membership of the organisation; their annotations stay."""
    email = check_email(email)
    accounts = {a.email: a for a in list_accounts(client) if a.active}
    account = accounts.get(email)
    if account is None:
        raise ConfigError(f"no active account {email} in the organisation on {client.url}",
                          hint="see `corpus annotators list`")
    if account.is_you:
        raise ConfigError(f"{email} owns the API token and cannot remove itself",
                          hint="remove annotators, not the lead's own account")
    remember_users(workspace, client.url, {account.id: account.email})
    client.remove_member(_organisation(client), account.id)
    path = passwords_path(workspace)
    kept = _read_passwords(path)
    if kept.pop(email, None) is not None:
        write_json(path, kept, mode=0o600)
    return Account(id=account.id, email=email, active=False)
