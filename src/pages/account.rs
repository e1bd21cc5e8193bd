//! `/signup` and `/login`.

use leptos::prelude::*;
use unishop_model::{check_email, check_password, LoginRequest, SignupRequest};

use crate::api::{sentence, Api, ApiError};
use crate::components::field::{focus_first_error, Field};
use crate::router::{local_path, set_title, use_page_url, PageUrl};
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

/// What the login and signup forms share: the email and password fields, the errors shown, whether
/// a request is on its way, and where to go once logged in.
#[derive(Clone, Copy)]
struct AccountForm {
    api: StoredValue<Api>,
    shop: Shop,
    page_url: PageUrl,
    next: Memo<String>,
    email: RwSignal<String>,
    password: RwSignal<String>,
    errors: FormErrors,
    busy: RwSignal<bool>,
}

impl AccountForm {
    fn new() -> Self {
        AccountForm {
            api: StoredValue::new(expect_context::<Api>()),
            shop: expect_context::<Shop>(),
            page_url: use_page_url(),
            next: next_page(),
            email: RwSignal::new(String::new()),
            password: RwSignal::new(String::new()),
            errors: FormErrors::new(),
            busy: RwSignal::new(false),
        }
    }

    /// Takes the submission from the browser and checks the email, plus what `check` adds to the
    /// list of invalid fields. Returns the email when all is well; otherwise shows what is wrong.
    fn checked(
        &self,
        ev: leptos::ev::SubmitEvent,
        check: impl FnOnce(&mut Vec<(String, String)>),
    ) -> Option<String> {
        ev.prevent_default();
        self.errors.clear();
        let mut invalid = Vec::new();
        let email = checked_email(self.email, &mut invalid);
        check(&mut invalid);
        match (email, invalid.is_empty()) {
            (Some(email), true) => Some(email),
            _ => {
                self.errors.refuse(invalid);
                None
            }
        }
    }

    /// Runs `log_in` (the form's calls, ending logged in) while the button is disabled, then goes
    /// on to `next`. A failure is shown by `explain` when it returns true, else by
    /// [`FormErrors::show`].
    fn submit(
        &self,
        log_in: impl std::future::Future<Output = Result<(), ApiError>> + 'static,
        explain: impl FnOnce(FormErrors, &ApiError) -> bool + 'static,
    ) {
        let AccountForm {
            shop,
            page_url,
            next,
            errors,
            busy,
            ..
        } = *self;
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = log_in.await;
            busy.set(false);
            match result {
                Ok(()) => {
                    if !page_url.navigate(&next.get_untracked()) {
                        page_url.navigate("/");
                    }
                }
                // A guest's cart lives in this browser until the first login takes it in.
                Err(error) if error.is_outage() && shop.count() > 0 => {
                    errors.form.set(Some(format!(
                        "{error} Your cart is kept here and joins your account when you log in."
                    )));
                    focus_first_error();
                }
                Err(error) => {
                    if !explain(errors, &error) {
                        errors.show(&error);
                    }
                }
            }
        });
    }
}

/// Where to go after logging in: the `next` parameter when it is a path of this site.
fn next_page() -> Memo<String> {
    let page_url = use_page_url();
    Memo::new(move |_| {
        page_url
            .query("next")
            .filter(|next| local_path(next).is_some())
            .unwrap_or_else(|| "/".to_owned())
    })
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let form = AccountForm::new();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        let Some(email) = form.checked(ev, |invalid| {
            if form.password.get_untracked().is_empty() {
                invalid.push(("password".to_owned(), "Enter your password.".to_owned()));
            }
        }) else {
            return;
        };
        let api = form.api.get_value();
        let request = LoginRequest {
            email,
            password: form.password.get_untracked(),
        };
        form.submit(
            async move {
                let session = api.login(&request).await?;
                form.shop.log_in(&api, session).await
            },
            |errors, error| {
                // Our API answers 401; a legacy backend answers 400 for an unknown email.
                let wrong = matches!(
                    error,
                    ApiError::Rejected {
                        status: 400 | 401,
                        ..
                    }
                );
                if wrong {
                    errors.form.set(Some(
                        "The email or password is not right. Check both and try again.".into(),
                    ));
                    focus_first_error();
                }
                wrong
            },
        );
    };
    set_title("Log in");
    view! {
        <h1 class="page-title" tabindex="-1">"Log in"</h1>
        <div role="status">
            {move || form.shop.session_expired.get().then(|| view! {
                <p class="notice" data-testid="session-ended">"Your session has ended. Log in again to carry on; your cart is kept."</p>
            })}
        </div>
        <form class="account-form" on:submit=on_submit novalidate>
            <FormProblem errors=form.errors />
            <Field id="email" label="Email" kind="email" autocomplete="email" value=form.email error=form.errors.of("email") />
            <Field id="password" label="Password" kind="password" autocomplete="current-password" value=form.password error=form.errors.of("password") />
            <button type="submit" disabled=move || form.busy.get()>"Log in"</button>
        </form>
        <p>"New here? " <a href="/signup">"Create an account"</a></p>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let form = AccountForm::new();
    let first_name = RwSignal::new(String::new());
    let last_name = RwSignal::new(String::new());
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        let Some(email) = form.checked(ev, |invalid| {
            if let Err(e) = check_password(&form.password.get_untracked()) {
                invalid.push(("password".to_owned(), e.to_string()));
            }
            for (field, value) in [("firstName", first_name), ("lastName", last_name)] {
                if value.with_untracked(|v| v.chars().count() > 100) {
                    invalid.push((field.to_owned(), "At most 100 characters.".to_owned()));
                }
            }
        }) else {
            return;
        };
        let api = form.api.get_value();
        let optional = |s: RwSignal<String>| {
            Some(s.get_untracked().trim().to_owned()).filter(|s| !s.is_empty())
        };
        let signup = SignupRequest {
            email,
            password: form.password.get_untracked(),
            first_name: optional(first_name),
            last_name: optional(last_name),
        };
        form.submit(
            async move {
                api.signup(&signup).await?;
                let session = api
                    .login(&LoginRequest {
                        email: signup.email.clone(),
                        password: signup.password.clone(),
                    })
                    .await?;
                form.shop.log_in(&api, session).await
            },
            |errors, error| {
                // A legacy backend answers a bare 400 for an email already registered.
                let taken =
                    matches!(error, ApiError::Rejected { status: 400, fields, .. } if fields.is_empty());
                if taken {
                    errors.refuse(vec![(
                        "email".to_owned(),
                        "This email may already have an account. Log in instead.".to_owned(),
                    )]);
                }
                taken
            },
        );
    };
    set_title("Create an account");
    view! {
        <h1 class="page-title" tabindex="-1">"Create an account"</h1>
        <form class="account-form" on:submit=on_submit novalidate>
            <FormProblem errors=form.errors />
            <Field id="email" label="Email" kind="email" autocomplete="email" value=form.email error=form.errors.of("email") />
            <Field
                id="password"
                label="Password"
                kind="password"
                autocomplete="new-password"
                hint="8 to 128 characters."
                value=form.password
                error=form.errors.of("password")
            />
            <Field id="firstName" label="First name (optional)" autocomplete="given-name" value=first_name error=form.errors.of("firstName") />
            <Field id="lastName" label="Last name (optional)" autocomplete="family-name" value=last_name error=form.errors.of("lastName") />
            <button type="submit" disabled=move || form.busy.get()>"Sign up"</button>
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
