def test_login_flow_and_home(app, client, make_user, login):
    user = make_user("caseworker")
    assert client.get("/reports/").status_code == 302
    login(client, user)
    response = client.get("/", follow_redirects=True)
    assert response.status_code == 200
    assert b"Dashboard" in response.data


def test_supervisor_with_totp(app, client, make_user, login):
    user = make_user("supervisor")
    login(client, user)
    assert client.get("/reports/").status_code == 200
