import pytest


@pytest.mark.parametrize("role", ["admin", "manager", "agent", "client_admin", "client_viewer"])
def test_main_pages_render_for_each_role(world, role):
    http = world.login(role)
    for url in ["/", "/clients/", f"/clients/{world.own.pk}/", "/account/"]:
        response = http.get(url)
        assert response.status_code == 200, (url, response.status_code)
