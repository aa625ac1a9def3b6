//! The shop the journey runs in: the real portal in-process with the Telinta and PayPal
//! simulators behind its real clients, a few numbers on sale, two plans and an admin.

use std::sync::Arc;

use crate::support::TestPortal;
use didport::config::{PinField, TelintaConfig};
use didport::domain::Role;
use didport::integrations::paypal::PayPalClient;
use didport::integrations::telinta::TelintaClient;
use didport::sim::paypal::{PayPalSim, SimConfig};
use didport::sim::telinta::TelintaSim;

pub const ADMIN_EMAIL: &str = "ops@example.com";

/// The number the visitor buys: (212) 356-9377, "FLOWERS" in area code 212.
pub const WANTED: &str = "2123569377";

/// Numbers on sale. Three spell FLOWERS (3569377), three are in area code 212.
pub const ON_SALE: &[&str] = &[
    WANTED,
    "2125550142",
    "2125550187",
    "3103569377",
    "3105550123",
    "8883569377",
];

pub struct Shop {
    pub p: TestPortal,
    // Kept alive for as long as the portal talks to them.
    _telinta: TelintaSim,
    _paypal: PayPalSim,
}

impl Shop {
    /// `sandbox` shows the banner every page carries in `didport demo`.
    pub fn open(sandbox: bool) -> Shop {
        let telinta = TelintaSim::start(11).expect("Telinta simulator starts");
        let telinta_client =
            TelintaClient::new(telinta.client_config()).expect("Telinta client builds");
        let paypal = PayPalSim::start(SimConfig::default()).expect("PayPal simulator starts");
        let paypal_client = PayPalClient::new(paypal.client_config()).expect("PayPal client");
        let telinta_url = telinta.base_url().to_string();
        let voicemail = telinta.voicemail_url().to_string();
        let p = TestPortal::start_with(move |c, opts| {
            c.seller_name = Some("Example VoIP LLC".into());
            c.seller_address = vec!["1 Main St, Suite 200".into(), "Tampa, FL 33602".into()];
            c.tax_rate = didport::domain::tax::TaxRate::parse("8.875");
            c.telinta = Some(TelintaConfig {
                url: telinta_url,
                login: "didport".into(),
                password: Some("sim-password".into()),
                token: None,
                product: Some(1),
                vendor_batch: Some(1),
                pricing_batch: Some(1),
                pin_field: PinField::ServicePassword,
                voicemail_url: Some(voicemail),
                voicemail_domain: Some(didport::sim::telinta::UM_DOMAIN.into()),
                create_customers: true,
            });
            opts.telinta = Some(Arc::new(telinta_client));
            opts.payments = Some(Arc::new(paypal_client));
            opts.demo = sandbox;
        });
        p.stock(ON_SALE);
        p.store()
            .write(|tx| {
                didport::store::plans::insert(
                    tx,
                    &didport::store::plans::NewPlan {
                        name: "Business",
                        description: "Call forwarding and a voicemail PIN.",
                        setup_cents: 1000,
                        monthly_cents: 800,
                        number_type: didport::domain::plan::PlanNumberType::Any,
                    },
                    0,
                )
            })
            .expect("Business plan added");
        p.add_user(ADMIN_EMAIL, Role::Admin);
        Shop {
            p,
            _telinta: telinta,
            _paypal: paypal,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.p.url)
    }
}
