//! The catalogue every Unishop database starts with, and the one the storefront's pages are
//! prerendered from (feature `seed`): the API seeds its stores from it, the storefront's build
//! renders `/` and every `/product/{uuid}` from it.
//!
//! Product uuids are derived from the legacy product names with UUID v5, so they are the same on
//! every machine and in every region: a basket written in one region joins to the catalogue of the
//! other.

use crate::Product;
use uuid::Uuid;

/// The namespace of Unishop product uuids (itself UUID v5 of the shop's name in the URL namespace).
pub fn product_namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://unishop.example/products")
}

/// The uuid of the product the legacy catalogue called `legacy_name` (for example `UnicornFloat`).
pub fn product_uuid(legacy_name: &str) -> Uuid {
    Uuid::new_v5(&product_namespace(), legacy_name.as_bytes())
}

/// One product of the seed catalogue.
#[derive(Clone, Copy, Debug)]
pub struct SeedProduct {
    /// The product's name in the legacy catalogue; its uuid is derived from it.
    pub legacy_name: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub price_cents: i64,
    pub category: &'static str,
    /// The image file under the site's `images/` folder.
    pub image: &'static str,
    /// What the image shows.
    pub image_alt: &'static str,
}

impl SeedProduct {
    pub fn uuid(&self) -> Uuid {
        product_uuid(self.legacy_name)
    }

    pub fn to_product(self) -> Product {
        Product {
            uuid: self.uuid(),
            name: self.name.to_owned(),
            description: Some(self.description.to_owned()),
            price: self.price_cents as f64 / 100.0,
            price_cents: Some(self.price_cents),
            image: Some(format!("/images/{}", self.image)),
            image_alt: Some(self.image_alt.to_owned()),
            category: Some(self.category.to_owned()),
        }
    }
}

/// The ten products of the original shop, in its order, with our own names and words.
pub const CATALOGUE: [SeedProduct; 10] = [
    SeedProduct {
        legacy_name: "UnicornFloat",
        name: "Rainbow Unicorn Pool Float",
        description: "A giant inflatable unicorn with a rainbow mane that seats two grown-ups. \
                      Puncture-resistant vinyl, two grab handles and a quick-fill valve.",
        price_cents: 4_999,
        category: "Pool & Beach",
        image: "pool-float.svg",
        image_alt: "A white unicorn pool float with a rainbow mane on blue water",
    },
    SeedProduct {
        legacy_name: "UnicornHipHop",
        name: "Hip-Hop Unicorn Kids' T-Shirt",
        description: "Soft organic-cotton tee with a unicorn in headphones busting a move. \
                      Sizes for ages 3 to 12; keeps its colours wash after wash.",
        price_cents: 1_899,
        category: "Clothing",
        image: "kids-tshirt.svg",
        image_alt: "A yellow kids' t-shirt printed with a unicorn wearing headphones",
    },
    SeedProduct {
        legacy_name: "UnicornPartyDress",
        name: "Sparkle Unicorn Party Dress",
        description: "A twirl-ready tulle dress in pastel layers with a satin unicorn sash, \
                      for birthdays and every other day that deserves one.",
        price_cents: 3_950,
        category: "Clothing",
        image: "party-dress.svg",
        image_alt: "A layered pink and lilac tulle dress with a unicorn on the sash",
    },
    SeedProduct {
        legacy_name: "UnicornGlitter",
        name: "Glitter Unicorn Backpack",
        description: "A mini backpack covered in flip sequins that change colour when you \
                      stroke them. Padded straps and a zipped front pocket.",
        price_cents: 2_999,
        category: "Bags",
        image: "glitter-backpack.svg",
        image_alt: "A small purple backpack covered in sparkling sequins",
    },
    SeedProduct {
        legacy_name: "UnicornBeddings",
        name: "Dreamy Unicorn Bedding Set",
        description: "Duvet cover and pillowcase in brushed cotton, printed with unicorns \
                      leaping over clouds. Single size, machine washable.",
        price_cents: 5_499,
        category: "Home",
        image: "bedding-set.svg",
        image_alt: "A duvet and pillow in sky blue with unicorns jumping over clouds",
    },
    SeedProduct {
        legacy_name: "UnicornPink",
        name: "Pink Unicorn Baby Dress",
        description: "A gentle jersey dress for little ones, with a tiny embroidered horn and \
                      press studs for easy changes. Sizes 0 to 24 months.",
        price_cents: 2_450,
        category: "Clothing",
        image: "baby-dress.svg",
        image_alt: "A small pink baby dress with a golden unicorn horn on the chest",
    },
    SeedProduct {
        legacy_name: "UnicornBackpack",
        name: "Unicorn School Backpack",
        description: "Roomy enough for books, a lunch box and a water bottle, with a padded \
                      back, reflective trim and a plush horn on top.",
        price_cents: 3_499,
        category: "Bags",
        image: "school-backpack.svg",
        image_alt: "A teal school backpack with a plush golden horn on top",
    },
    SeedProduct {
        legacy_name: "UnicornBlanket",
        name: "Hooded Unicorn Blanket",
        description: "A wearable fleece blanket with a hood, ears and a golden horn. \
                      Warm for movie nights, light enough for sleepovers.",
        price_cents: 3_200,
        category: "Home",
        image: "hooded-blanket.svg",
        image_alt: "A lilac fleece blanket with a hood, ears and a golden horn",
    },
    SeedProduct {
        legacy_name: "UnicornCool",
        name: "Cool Unicorn Men's Shirt",
        description: "A short-sleeved button-up shirt with a repeating pattern of unicorns \
                      in sunglasses. Breathable cotton, relaxed fit.",
        price_cents: 4_250,
        category: "Clothing",
        image: "mens-shirt.svg",
        image_alt: "A blue button-up shirt patterned with unicorns in sunglasses",
    },
    SeedProduct {
        legacy_name: "UnicornFluffy",
        name: "Fluffy Unicorn Slippers",
        description: "Plush slippers with a soft horn and a rainbow mane, on a non-slip sole. \
                      Adult sizes 4 to 11.",
        price_cents: 2_199,
        category: "Footwear",
        image: "slippers.svg",
        image_alt: "A pair of fluffy white slippers with horns and rainbow manes",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_uuids_are_stable_and_distinct() {
        // A fixed value: changing how uuids are derived would orphan every basket in every region.
        assert_eq!(
            product_uuid("UnicornFloat").to_string(),
            "5ac3ba4e-7974-568b-bda4-6992f843ea09"
        );
        let mut uuids: Vec<Uuid> = CATALOGUE.iter().map(SeedProduct::uuid).collect();
        uuids.sort();
        uuids.dedup();
        assert_eq!(uuids.len(), CATALOGUE.len());
        assert!(uuids.iter().all(|u| u.get_version_num() == 5));
    }

    #[test]
    fn seed_products_have_prices_and_images() {
        for seed in CATALOGUE {
            let product = seed.to_product();
            assert!(product.cents() > 0);
            assert_eq!(product.cents(), seed.price_cents);
            assert!(product
                .image
                .as_deref()
                .is_some_and(|i| i.ends_with(".svg")));
        }
    }
}
