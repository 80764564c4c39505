"""A stock OAuth library against a running appcred: a client obtains a token
bound to a protected API (RFC 8707 `resource`) with authlib's OAuth2Session,
and the protected API introspects it with HTTP Basic (RFC 7662 §2.1), as a
resource server written with authlib would. Prints both answers as JSON for
server/tests/api/stock_libraries.rs to check."""
import json
import os

from authlib.integrations.requests_client import OAuth2Session

base = os.environ["APPCRED_URL"]
client = OAuth2Session(
    os.environ["CLIENT_ID"], os.environ["CLIENT_SECRET"], token_endpoint_auth_method="client_secret_basic"
)
token = client.fetch_token(base + "/oauth/token", grant_type="client_credentials", resource=os.environ["AUDIENCE"])
api = OAuth2Session(
    os.environ["API_ID"], os.environ["API_SECRET"], revocation_endpoint_auth_method="client_secret_basic"
)
answer = api.introspect_token(base + "/oauth/introspect", token=token["access_token"])
print(json.dumps({
    "token": {k: token.get(k) for k in ("token_type", "expires_in", "scope")},
    "access_token": token["access_token"],
    "status": answer.status_code,
    "introspection": answer.json(),
}))
