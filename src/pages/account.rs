//! `/signup` and `/login`.

use leptos::prelude::*;
use unishop_model::{check_email, check_password, LoginRequest, SignupRequest};

use crate::api::{sentence, Api, ApiError};
use crate::components::field::{focus_first_error, Field};
use crate::router::{local_path, set_title, use_location, Location};
use crate::state::Shop;

/// The error signals of a form's fields plus one for the whole form.
#[derive(Clone, Copy)]
struct FormErrors {
    fields: RwSignal<Vec<(String, String)>>,
    form: RwSignal<Option<String>>,
}

impl FormErrors {
    fn new() -> Self {
        FormErrors {
            fields: RwSignal::new(Vec::new()),
            form: RwSignal::new(None),
        }
    }

    fn of(self, field: &'static str) -> Signal<Option<String>> {
        Signal::derive(move || {
            self.fields
                .with(|all| all.iter().find(|(f, _)| f == field).map(|(_, m)| m.clone()))
        })
    }

    fn clear(self) {
        self.fields.set(Vec::new());
        self.form.set(None);
    }

    /// Shows what the form's own checks found, and focuses the first failing field.
    fn refuse(self, invalid: Vec<(String, String)>) {
        self.fields.set(invalid);
        focus_first_error();
    }

    /// Shows a server refusal next to the fields it names, or above the form.
    fn show(self, error: &ApiError) {
        match error {
            ApiError::Rejected {
                status: 409,
                detail,
                ..
            } => {
                self.fields.set(vec![("email".into(), detail.clone())]);
            }
            ApiError::Rejected { fields, detail, .. } if !fields.is_empty() => {
                self.fields.set(
                    fields
                        .iter()
                        .map(|f| (f.field.clone(), sentence(&f.message)))
                        .collect(),
                );
                self.form.set(Some(detail.clone()));
            }
            other => self.form.set(Some(other.to_string())),
        }
        focus_first_error();
    }
}

/// The email field's address when it is well formed; otherwise notes why in `invalid`.
fn checked_email(email: RwSignal<String>, invalid: &mut Vec<(String, String)>) -> Option<String> {
    match email.with_untracked(|typed| check_email(typed).map(str::to_owned)) {
        Ok(email) => Some(email),
        Err(error) => {
            invalid.push(("email".to_owned(), error.to_string()));
            None
        }
    }
}

/// After logging in or signing up: on to `next`, or home if the browser refuses it.
fn go_on(location: Location, next: Memo<String>) {
    if !location.navigate(&next.get_untracked()) {
        location.navigate("/");
    }
}

/// Where to go after logging in: the `next` parameter when it is a path of this site.
fn next_page() -> Memo<String> {
    let location = use_location();
    Memo::new(move |_| {
        location
            .query("next")
            .filter(|next| local_path(next).is_some())
            .unwrap_or_else(|| "/".to_owned())
    })
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let api = expect_context::<Api>();
    let shop = expect_context::<Shop>();
    let location = use_location();
    let next = next_page();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let errors = FormErrors::new();
    let busy = RwSignal::new(false);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        let mut invalid = Vec::new();
        let email = checked_email(email, &mut invalid);
        if password.get_untracked().is_empty() {
            invalid.push(("password".to_owned(), "Enter your password.".to_owned()));
        }
        let (Some(email), true) = (email, invalid.is_empty()) else {
            errors.refuse(invalid);
            return;
        };
        busy.set(true);
        let api = api.clone();
        let request = LoginRequest {
            email,
            password: password.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            let result = match api.login(&request).await {
                Ok(session) => shop.log_in(&api, session).await,
                Err(error) => Err(error),
            };
            busy.set(false);
            match result {
                Ok(()) => go_on(location, next),
                // Our API answers 401; a legacy backend answers 400 for an unknown email.
                Err(ApiError::Rejected {
                    status: 400 | 401, ..
                }) => {
                    errors.form.set(Some(
                        "The email or password is not right. Check both and try again.".into(),
                    ));
                    focus_first_error();
                }
                Err(error) => errors.show(&error),
            }
        });
    };
    set_title("Log in");
    view! {
        <h1 class="page-title" tabindex="-1">"Log in"</h1>
        <div role="status">
            {move || shop.session_expired.get().then(|| view! {
                <p class="notice" data-testid="session-ended">"Your session has ended. Log in again to carry on; your cart is kept."</p>
            })}
        </div>
        <form class="account-form" on:submit=on_submit novalidate>
            <FormProblem errors />
            <Field id="email" label="Email" kind="email" autocomplete="email" value=email error=errors.of("email") />
            <Field id="password" label="Password" kind="password" autocomplete="current-password" value=password error=errors.of("password") />
            <button type="submit" disabled=move || busy.get()>"Log in"</button>
        </form>
        <p>"New here? " <a href="/signup">"Create an account"</a></p>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let api = expect_context::<Api>();
    let shop = expect_context::<Shop>();
    let location = use_location();
    let next = next_page();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let first_name = RwSignal::new(String::new());
    let last_name = RwSignal::new(String::new());
    let errors = FormErrors::new();
    let busy = RwSignal::new(false);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        let mut invalid = Vec::new();
        let email = checked_email(email, &mut invalid);
        if let Err(e) = check_password(&password.get_untracked()) {
            invalid.push(("password".to_owned(), e.to_string()));
        }
        for (field, value) in [("firstName", first_name), ("lastName", last_name)] {
            if value.with_untracked(|v| v.chars().count() > 100) {
                invalid.push((field.to_owned(), "At most 100 characters.".to_owned()));
            }
        }
        let (Some(email), true) = (email, invalid.is_empty()) else {
            errors.refuse(invalid);
            return;
        };
        busy.set(true);
        let api = api.clone();
        let optional = |s: RwSignal<String>| {
            Some(s.get_untracked().trim().to_owned()).filter(|s| !s.is_empty())
        };
        let signup = SignupRequest {
            email,
            password: password.get_untracked(),
            first_name: optional(first_name),
            last_name: optional(last_name),
        };
        leptos::task::spawn_local(async move {
            let result = async {
                api.signup(&signup).await?;
                let session = api
                    .login(&LoginRequest {
                        email: signup.email.clone(),
                        password: signup.password.clone(),
                    })
                    .await?;
                shop.log_in(&api, session).await
            }
            .await;
            busy.set(false);
            match result {
                Ok(()) => go_on(location, next),
                // A legacy backend answers a bare 400 for an email already registered.
                Err(ApiError::Rejected {
                    status: 400,
                    fields,
                    ..
                }) if fields.is_empty() => errors.refuse(vec![(
                    "email".to_owned(),
                    "This email may already have an account. Log in instead.".to_owned(),
                )]),
                Err(error) => errors.show(&error),
            }
        });
    };
    set_title("Create an account");
    view! {
        <h1 class="page-title" tabindex="-1">"Create an account"</h1>
        <form class="account-form" on:submit=on_submit novalidate>
            <FormProblem errors />
            <Field id="email" label="Email" kind="email" autocomplete="email" value=email error=errors.of("email") />
            <Field
                id="password"
                label="Password"
                kind="password"
                autocomplete="new-password"
                hint="8 to 128 characters."
                value=password
                error=errors.of("password")
            />
            <Field id="firstName" label="First name (optional)" autocomplete="given-name" value=first_name error=errors.of("firstName") />
            <Field id="lastName" label="Last name (optional)" autocomplete="family-name" value=last_name error=errors.of("lastName") />
            <button type="submit" disabled=move || busy.get()>"Sign up"</button>
        </form>
        <p>"Already have an account? " <a href="/login">"Log in"</a></p>
    }
}

/// A problem with the whole form, announced when it appears.
#[component]
fn FormProblem(errors: FormErrors) -> impl IntoView {
    view! {
        <div role="alert" class="form-problem-slot">
            {move || errors.form.get().map(|message| view! { <p class="form-problem" data-testid="form-problem">{message}</p> })}
        </div>
    }
}
