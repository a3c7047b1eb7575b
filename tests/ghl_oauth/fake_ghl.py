"""A fake GoHighLevel at the HTTP boundary (`responses`): the OAuth side of the two install
flows and the reads an install makes, keeping state like GHL does — the codes it handed out,
the tokens it issued, and on which of an agency's locations Kotally is installed.

Request and answer shapes follow GoHighLevel/highlevel-api-docs `apps/oauth.json`:
POST /oauth/token (GetAccessCodebodyDto → GetAccessCodeSuccessfulResponseDto), POST
/oauth/locationToken (GetLocationAccessCodeBodyDto → GetLocationAccessTokenSuccessfulResponse
Dto, which has no refresh_token), GET /oauth/installedLocations
(GetInstalledLocationsSuccessfulResponseDto). GHL publishes no whole token answer, only
per-field examples; a Company token's has no `approvedLocations` here, as in a bulk install.
"""

import itertools
import json
import re
from urllib.parse import parse_qs, urlparse

import responses

API = "https://services.leadconnectorhq.com"
VERSION = "2021-07-28"


class FakeGhl:
    def __init__(self, mock: responses.RequestsMock, *, client_id: str, client_secret: str):
        self.client_id, self.client_secret = client_id, client_secret
        self.app_id = client_id.split("-")[0]
        self.codes: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}  # access token → what it is for
        self.refresh_tokens: dict[str, dict] = {}
        self.installed: dict[str, list[str]] = {}  # company id → its locations with the app
        self._ids = itertools.count(1)
        mock.add_callback(responses.POST, f"{API}/oauth/token", callback=self._token)
        mock.add_callback(
            responses.POST, f"{API}/oauth/locationToken", callback=self._location_token
        )
        mock.add_callback(
            responses.GET, f"{API}/oauth/installedLocations", callback=self._installed_locations
        )
        mock.add_callback(
            responses.GET, re.compile(rf"{API}/locations/\w+"), callback=self._location
        )

    # --- what a person does in GHL --------------------------------------------------------------

    def consent_location(self, *, location_id: str, company_id: str) -> str:
        """A sub-account install: the code of a Location token for `location_id`."""
        self.installed.setdefault(company_id, []).append(location_id)
        return self._code(
            {"userType": "Location", "locationId": location_id, "companyId": company_id}
        )

    def consent_agency(self, *, company_id: str, location_ids: list[str]) -> str:
        """An agency bulk install: the code of a Company token that names no location."""
        self.installed.setdefault(company_id, []).extend(location_ids)
        return self._code(
            {"userType": "Company", "companyId": company_id, "isBulkInstallation": True}
        )

    def install_later(self, *, company_id: str, location_id: str) -> None:
        """The agency's install reaches one more location (a future location)."""
        self.installed.setdefault(company_id, []).append(location_id)

    # --- GHL's endpoints ------------------------------------------------------------------------

    def _code(self, grant: dict) -> str:
        code = f"code-{next(self._ids)}"
        self.codes[code] = grant
        return code

    def _issue(self, grant: dict, *, refresh: bool = True) -> dict:
        n = next(self._ids)
        answer = {
            "access_token": f"acc-{n}",
            "token_type": "Bearer",
            "expires_in": 86399,
            "scope": "oauth.readonly oauth.write",
            "userId": "user_1",
            "planId": "plan_1",
            **grant,
        }
        if refresh:
            answer["refresh_token"] = f"ref-{n}"
            self.refresh_tokens[answer["refresh_token"]] = grant
        self.tokens[answer["access_token"]] = grant
        return answer

    @staticmethod
    def _json(status: int, body: dict):
        return status, {"Content-Type": "application/json"}, json.dumps(body)

    def _bearer(self, request) -> dict | None:
        header = request.headers.get("Authorization", "")
        return self.tokens.get(header.removeprefix("Bearer "))

    def _token(self, request):
        form = {k: v[0] for k, v in parse_qs(request.body).items()}
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return self._json(401, {"error": "invalid_client"})
        if form.get("grant_type") == "authorization_code":
            grant = self.codes.pop(form.get("code", ""), None)
        else:
            grant = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
        if grant is None:
            return self._json(400, {"error": "invalid_grant"})
        return self._json(200, self._issue(grant))

    def _location_token(self, request):
        company = self._bearer(request)
        form = {k: v[0] for k, v in parse_qs(request.body).items()}
        if company is None or company["userType"] != "Company":
            return self._json(401, {"message": "Invalid JWT"})
        if (
            request.headers.get("Version") != VERSION
            or form.get("companyId") != (company["companyId"])
        ):
            return self._json(400, {"message": "Bad request"})
        if form.get("locationId") not in self.installed.get(company["companyId"], []):
            return self._json(400, {"message": "The app is not installed on this location"})
        grant = {
            "userType": "Location",
            "locationId": form["locationId"],
            "companyId": company["companyId"],
            "appId": self.app_id,
            "versionId": "v1",
        }
        return self._json(200, self._issue(grant, refresh=False))

    def _installed_locations(self, request):
        company = self._bearer(request)
        query = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        if company is None or company["userType"] != "Company":
            return self._json(401, {"message": "Invalid JWT"})
        if (query.get("companyId"), query.get("appId")) != (company["companyId"], self.app_id):
            return self._json(400, {"message": "Bad request"})
        ids = self.installed.get(company["companyId"], [])
        if query.get("locationId"):
            ids = [x for x in ids if x == query["locationId"]]
        skip, limit = int(query.get("skip", 0)), int(query.get("limit", 20))
        page = [
            {"_id": x, "name": f"Studio {x}", "address": "1 Main St", "isInstalled": True}
            for x in ids[skip : skip + limit]
        ]
        return self._json(
            200, {"locations": page, "count": len(ids), "installToFutureLocations": True}
        )

    def _location(self, request):
        grant = self._bearer(request)
        location_id = urlparse(request.url).path.rsplit("/", 1)[-1]
        if grant is None or grant.get("locationId") != location_id:
            return self._json(401, {"message": "Invalid JWT"})
        return self._json(200, {"location": {"id": location_id, "name": f"Studio {location_id}"}})
