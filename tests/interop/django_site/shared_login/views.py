"""Plain pages whose elements the browser tests read by id."""
import json

from django.contrib import auth
from django.http import HttpResponseBadRequest
from django.shortcuts import render


def _state(request):
    """What /django/whoami/ shows: the user and the session as Django sees them."""
    session = request.session
    return {
        "username": request.user.username if request.user.is_authenticated else "anonymous",
        "session_json": json.dumps(dict(session.items()), sort_keys=True),
        "session_key": session.session_key or "",
        "expiry_age": session.get_expiry_age(),
        "expiry_date": session.get_expiry_date().isoformat(),
        "expire_at_browser_close": "true" if session.get_expire_at_browser_close() else "false",
    }


def whoami(request):
    return render(request, "shared_login/whoami.html", _state(request))


def set_value(request):
    """GET /django/set/?key=K&value=V: session[K] = V (a string)."""
    key = request.GET.get("key")
    value = request.GET.get("value")
    if not key or value is None:
        return HttpResponseBadRequest("key and value are required")
    request.session[key] = value
    return render(request, "shared_login/result.html", {"result": "ok", "what": f"set {key}"})


def expiry(request):
    """GET /django/expiry/?seconds=N: session.set_expiry(N); 0 = at browser close."""
    try:
        seconds = int(request.GET["seconds"])
    except (KeyError, ValueError):
        return HttpResponseBadRequest("seconds must be an integer")
    request.session.set_expiry(seconds)
    return render(request, "shared_login/result.html", {"result": "ok", "what": f"expiry {seconds}"})


def logout(request):
    """GET or POST: logs out (flushing the session), then shows whoami."""
    auth.logout(request)
    return render(request, "shared_login/whoami.html", _state(request))
