// The legacy page's start-up: config.json from its own origin, then the catalogue from its host.
angular.module('unishop', []).controller('ShopController', ['$http', function ($http) {
  var shop = this;
  shop.region = '';
  shop.unicorns = [];
  $http.get('config.json')
    .then(function (answer) {
      shop.region = answer.data.region;
      return $http.get(answer.data.host + '/unicorns/');
    })
    .then(function (answer) {
      shop.unicorns = answer.data;
    }, function (error) {
      console.log(error);
    });
}]);
