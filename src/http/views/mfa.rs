//! The account's second-factor page (what is on, setting up an authenticator app, codes by
//! email) and the page that shows recovery codes, once.

use askama::Template;
use qrcode::QrCode;
use qrcode::render::svg;

use crate::mfa::Enrolled;
use crate::oidc::account_factors::{Enrolment, FactorStatus};
use crate::oidc::session::SignedIn;
use crate::paths;

/// Where the page's forms post.
pub struct MfaActions {
    pub totp: &'static str,
    pub totp_confirm: &'static str,
    pub totp_disable: &'static str,
    pub recovery_codes: &'static str,
    pub email: &'static str,
}

const ACTIONS: MfaActions = MfaActions {
    totp: paths::ACCOUNT_MFA_TOTP,
    totp_confirm: paths::ACCOUNT_MFA_TOTP_CONFIRM,
    totp_disable: paths::ACCOUNT_MFA_TOTP_DISABLE,
    recovery_codes: paths::ACCOUNT_MFA_RECOVERY_CODES,
    email: paths::ACCOUNT_MFA_EMAIL,
};

pub const WRONG_CODE: &str = "That code didn't work. Check the time on your phone and try again.";
pub const WRONG_PASSWORD: &str = "Wrong password.";
pub const EMAIL_UNVERIFIED: &str =
    "Verify your email address first: the codes are sent to it. The link is in the mail we sent.";

/// What a form post did, confirmed after its redirect (`?done=…`): a fixed set, so the page
/// never shows text taken from the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaDone {
    TotpOff,
    EmailOn,
    EmailOff,
}

impl MfaDone {
    const ALL: [Self; 3] = [Self::TotpOff, Self::EmailOn, Self::EmailOff];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TotpOff => "totp-off",
            Self::EmailOn => "email-on",
            Self::EmailOff => "email-off",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|done| done.as_str() == raw)
    }

    fn message(self) -> &'static str {
        match self {
            Self::TotpOff => "The authenticator app is removed, and its recovery codes with it.",
            Self::EmailOn => "Signing in now asks for a code we send to your email address.",
            Self::EmailOff => "Signing in no longer sends codes to your email address.",
        }
    }
}

/// Which of the page's forms a refusal belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaForm {
    Confirm,
    Disable,
    Regenerate,
    EmailOn,
    EmailOff,
}

/// Errors shown next to their fields (or, for turning codes by email on, its button).
#[derive(Debug, Default)]
pub struct MfaErrors {
    pub code: Option<&'static str>,
    pub disable_password: Option<&'static str>,
    pub regenerate_password: Option<&'static str>,
    pub email_on: Option<&'static str>,
    pub email_password: Option<&'static str>,
}

impl MfaErrors {
    pub fn at(form: MfaForm, message: &'static str) -> Self {
        let mut errors = Self::default();
        let field = match form {
            MfaForm::Confirm => &mut errors.code,
            MfaForm::Disable => &mut errors.disable_password,
            MfaForm::Regenerate => &mut errors.regenerate_password,
            MfaForm::EmailOn => &mut errors.email_on,
            MfaForm::EmailOff => &mut errors.email_password,
        };
        *field = Some(message);
        errors
    }
}

/// An authenticator app being set up, as the page shows it.
pub struct EnrolmentView {
    /// The QR code as inline SVG; `None` if the URI could not be encoded (the key is shown
    /// as text anyway).
    pub qr_svg: Option<String>,
    /// The key in groups of four, to type by hand.
    pub secret: String,
    pub uri: String,
}

impl From<Enrolment> for EnrolmentView {
    fn from(enrolment: Enrolment) -> Self {
        Self {
            qr_svg: qr_svg(&enrolment.uri),
            secret: enrolment.secret.grouped(),
            uri: enrolment.uri,
        }
    }
}

/// `data` as an SVG element to put in the page (without the XML declaration, which only a
/// standalone file has).
fn qr_svg(data: &str) -> Option<String> {
    let code = QrCode::new(data.as_bytes()).ok()?;
    let image = code
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .build();
    image.find("<svg").map(|start| image[start..].to_owned())
}

#[derive(Template)]
#[template(path = "account_mfa.html")]
pub struct MfaPage<'a> {
    pub csrf: &'a str,
    pub actions: MfaActions,
    pub account_href: &'static str,
    /// Where the user goes once a factor is set up (a path of ours), carried by the forms.
    pub next: Option<&'a str>,
    pub done: Option<&'static str>,
    pub email: &'a str,
    pub email_verified: bool,
    pub enrolled: Enrolled,
    pub enrolment: Option<EnrolmentView>,
    pub errors: MfaErrors,
}

/// What the page shows besides the user's factors: the form token, where to go next, a
/// confirmation, or a refused form's error.
#[derive(Default)]
pub struct MfaShown<'a> {
    pub csrf: &'a str,
    pub next: Option<&'a str>,
    pub done: Option<MfaDone>,
    pub errors: MfaErrors,
}

impl<'a> MfaPage<'a> {
    pub fn new(me: &'a SignedIn, shown: MfaShown<'a>, status: FactorStatus) -> Self {
        Self {
            csrf: shown.csrf,
            actions: ACTIONS,
            account_href: paths::ACCOUNT,
            next: shown.next,
            done: shown.done.map(MfaDone::message),
            email: &me.user.email,
            email_verified: me.user.email_verified,
            enrolled: status.enrolled,
            enrolment: status.pending.map(EnrolmentView::from),
            errors: shown.errors,
        }
    }
}

/// Recovery codes, shown this once: after setting up the app, or when new ones were made.
#[derive(Template)]
#[template(path = "recovery_codes.html")]
pub struct RecoveryCodesPage<'a> {
    pub codes: Vec<String>,
    /// The authenticator app was just set up (rather than the codes made anew).
    pub set_up: bool,
    pub continue_href: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_confirmations_are_shown() {
        for done in MfaDone::ALL {
            assert_eq!(MfaDone::parse(done.as_str()), Some(done));
        }
        assert_eq!(MfaDone::parse("<script>"), None);
    }

    #[test]
    fn the_qr_code_is_an_svg_element() {
        let svg = qr_svg("otpauth://totp/Gatehouse:uma%40example%2Ecom?secret=GEZD").unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>"));
    }
}
