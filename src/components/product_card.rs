use leptos::prelude::*;
use unishop_model::{format_price, Product};

/// One product in the catalogue grid; its name links to the product's page.
#[component]
pub fn ProductCard(product: Product) -> impl IntoView {
    let price = format_price(product.cents());
    let alt = product
        .image_alt
        .clone()
        .unwrap_or_else(|| format!("Picture of the {}", product.name));
    let href = format!("/product/{}", product.uuid);
    view! {
        <article class="product-card" data-testid="product-card">
            {product
                .image
                .map(|src| view! { <img src=src alt=alt width="240" height="240" loading="lazy" /> })}
            <h2 class="product-name">
                <a href=href>{product.name}</a>
            </h2>
            {product.category.map(|category| view! { <p class="product-category">{category}</p> })}
            <p class="product-price">{price}</p>
        </article>
    }
}

/// A grey stand-in of a product card's size, shown while the catalogue loads.
#[component]
pub fn ProductCardPlaceholder() -> impl IntoView {
    view! {
        <div class="product-card placeholder" aria-hidden="true">
            <div class="placeholder-image"></div>
            <div class="placeholder-line"></div>
            <div class="placeholder-line short"></div>
        </div>
    }
}
