"""`manage.py run_localstripe`: the one-machine Stripe, on 127.0.0.1, with its data in a file."""

import pytest
import stripe

from tests.devtools.command_server import serving


def test_listens_on_loopback_only_and_keeps_data_between_runs(tmp_path):
    data_file = tmp_path / "localstripe.pickle"
    with serving("run_localstripe", "--data-file", str(data_file)) as url:
        assert url.startswith("http://127.0.0.1:")
        client = stripe.StripeClient("sk_test_local", base_addresses={"api": url})
        customer_id = client.v1.customers.create(params={"email": "a@example.com"}).id
    assert data_file.exists()

    with serving("run_localstripe", "--data-file", str(data_file)) as url:
        client = stripe.StripeClient("sk_test_local", base_addresses={"api": url})
        assert client.v1.customers.retrieve(customer_id).email == "a@example.com"

    with serving("run_localstripe", "--data-file", str(data_file), "--from-scratch") as url:
        client = stripe.StripeClient("sk_test_local", base_addresses={"api": url})
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.customers.retrieve(customer_id)
