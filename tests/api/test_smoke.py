def test_grant_then_deduct_moves_one_credit(api, package):
    grant = api.post_json(
        "/api/v2/grants",
        {
            "location_id": "loc_main",
            "external_contact_id": "m1",
            "request_id": "g1",
            "external_payment_id": "p1",
            "product_config_id": package.public_id,
        },
    )
    deduct = api.post_json(
        "/api/v2/entitlements/deduct",
        {
            "location_id": "loc_main",
            "external_contact_id": "m1",
            "request_id": "d1",
            "calendar_id": "cal_pack",
        },
    )
    assert grant.json()["reason_code"] == "grant_applied"
    assert deduct.json()["balance_after"] == 9
